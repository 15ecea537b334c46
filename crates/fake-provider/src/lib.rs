//! A fake LLM provider: a real HTTP server on 127.0.0.1 speaking the OpenAI, Anthropic and
//! Gemini wire formats, with fault injection. (In progress.)
