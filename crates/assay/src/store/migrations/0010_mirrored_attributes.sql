-- Span attributes that the span's own columns hold exactly are stored as bits of `mirrored`
-- instead of in `attributes` (see `store::mirrored`, whose list gives each key its bit); NULL
-- when there are none. Payloads stored before keep all their attributes.
ALTER TABLE span_payloads ADD COLUMN mirrored INTEGER;

-- A merge that changes a column would change what its bits read: first the attributes those
-- bits stood for are written out with the old values, and the bits cleared. Keys whose columns
-- keep their values stay bits. Generated from `store::mirrored::MIRRORED` (a test checks it).
CREATE TRIGGER spans_mirrored_write_out AFTER UPDATE OF
    request_model,
    response_model,
    provider,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    reasoning_tokens,
    prompt_name,
    prompt_version,
    session_id,
    user_id,
    tenant,
    endpoint,
    feature,
    environment,
    release
ON spans
WHEN (NEW.request_model IS NOT OLD.request_model OR NEW.response_model IS NOT OLD.response_model OR NEW.provider IS NOT OLD.provider OR NEW.input_tokens IS NOT OLD.input_tokens OR NEW.output_tokens IS NOT OLD.output_tokens OR NEW.cache_read_tokens IS NOT OLD.cache_read_tokens OR NEW.reasoning_tokens IS NOT OLD.reasoning_tokens OR NEW.prompt_name IS NOT OLD.prompt_name OR NEW.prompt_version IS NOT OLD.prompt_version OR NEW.session_id IS NOT OLD.session_id OR NEW.user_id IS NOT OLD.user_id OR NEW.tenant IS NOT OLD.tenant OR NEW.endpoint IS NOT OLD.endpoint OR NEW.feature IS NOT OLD.feature OR NEW.environment IS NOT OLD.environment OR NEW.release IS NOT OLD.release)
    AND (SELECT mirrored FROM span_payloads WHERE id = OLD.id) IS NOT NULL
BEGIN
    UPDATE span_payloads SET
        attributes = json_patch(attributes, (
            SELECT json_group_object(key, value) FROM (
                SELECT NULL AS key, NULL AS value, 0 AS bit, 0 AS changed
                UNION ALL SELECT 'gen_ai.request.model', OLD.request_model, 1, NEW.request_model IS NOT OLD.request_model
                UNION ALL SELECT 'gen_ai.response.model', OLD.response_model, 2, NEW.response_model IS NOT OLD.response_model
                UNION ALL SELECT 'gen_ai.provider.name', OLD.provider, 4, NEW.provider IS NOT OLD.provider
                UNION ALL SELECT 'gen_ai.system', OLD.provider, 8, NEW.provider IS NOT OLD.provider
                UNION ALL SELECT 'gen_ai.usage.input_tokens', OLD.input_tokens, 16, NEW.input_tokens IS NOT OLD.input_tokens
                UNION ALL SELECT 'gen_ai.usage.output_tokens', OLD.output_tokens, 32, NEW.output_tokens IS NOT OLD.output_tokens
                UNION ALL SELECT 'gen_ai.usage.prompt_tokens', OLD.input_tokens, 64, NEW.input_tokens IS NOT OLD.input_tokens
                UNION ALL SELECT 'gen_ai.usage.completion_tokens', OLD.output_tokens, 128, NEW.output_tokens IS NOT OLD.output_tokens
                UNION ALL SELECT 'gen_ai.usage.cache_read.input_tokens', OLD.cache_read_tokens, 256, NEW.cache_read_tokens IS NOT OLD.cache_read_tokens
                UNION ALL SELECT 'gen_ai.usage.reasoning.output_tokens', OLD.reasoning_tokens, 512, NEW.reasoning_tokens IS NOT OLD.reasoning_tokens
                UNION ALL SELECT 'gen_ai.prompt.name', OLD.prompt_name, 1024, NEW.prompt_name IS NOT OLD.prompt_name
                UNION ALL SELECT 'gen_ai.prompt.version', OLD.prompt_version, 2048, NEW.prompt_version IS NOT OLD.prompt_version
                UNION ALL SELECT 'gen_ai.conversation.id', OLD.session_id, 4096, NEW.session_id IS NOT OLD.session_id
                UNION ALL SELECT 'llm.model_name', OLD.response_model, 8192, NEW.response_model IS NOT OLD.response_model
                UNION ALL SELECT 'llm.provider', OLD.provider, 16384, NEW.provider IS NOT OLD.provider
                UNION ALL SELECT 'llm.system', OLD.provider, 32768, NEW.provider IS NOT OLD.provider
                UNION ALL SELECT 'llm.token_count.prompt', OLD.input_tokens, 65536, NEW.input_tokens IS NOT OLD.input_tokens
                UNION ALL SELECT 'llm.token_count.completion', OLD.output_tokens, 131072, NEW.output_tokens IS NOT OLD.output_tokens
                UNION ALL SELECT 'llm.token_count.prompt_details.cache_read', OLD.cache_read_tokens, 262144, NEW.cache_read_tokens IS NOT OLD.cache_read_tokens
                UNION ALL SELECT 'llm.token_count.completion_details.reasoning', OLD.reasoning_tokens, 524288, NEW.reasoning_tokens IS NOT OLD.reasoning_tokens
                UNION ALL SELECT 'ai.model.id', OLD.request_model, 1048576, NEW.request_model IS NOT OLD.request_model
                UNION ALL SELECT 'ai.response.model', OLD.response_model, 2097152, NEW.response_model IS NOT OLD.response_model
                UNION ALL SELECT 'ai.model.provider', OLD.provider, 4194304, NEW.provider IS NOT OLD.provider
                UNION ALL SELECT 'ai.usage.promptTokens', OLD.input_tokens, 8388608, NEW.input_tokens IS NOT OLD.input_tokens
                UNION ALL SELECT 'ai.usage.completionTokens', OLD.output_tokens, 16777216, NEW.output_tokens IS NOT OLD.output_tokens
                UNION ALL SELECT 'session.id', OLD.session_id, 33554432, NEW.session_id IS NOT OLD.session_id
                UNION ALL SELECT 'user.id', OLD.user_id, 67108864, NEW.user_id IS NOT OLD.user_id
                UNION ALL SELECT 'tenant', OLD.tenant, 134217728, NEW.tenant IS NOT OLD.tenant
                UNION ALL SELECT 'tenant.id', OLD.tenant, 268435456, NEW.tenant IS NOT OLD.tenant
                UNION ALL SELECT 'tenant_id', OLD.tenant, 536870912, NEW.tenant IS NOT OLD.tenant
                UNION ALL SELECT 'endpoint', OLD.endpoint, 1073741824, NEW.endpoint IS NOT OLD.endpoint
                UNION ALL SELECT 'feature', OLD.feature, 2147483648, NEW.feature IS NOT OLD.feature
                UNION ALL SELECT 'deployment.environment.name', OLD.environment, 4294967296, NEW.environment IS NOT OLD.environment
                UNION ALL SELECT 'deployment.environment', OLD.environment, 8589934592, NEW.environment IS NOT OLD.environment
                UNION ALL SELECT 'service.version', OLD.release, 17179869184, NEW.release IS NOT OLD.release
                UNION ALL SELECT 'langfuse.user.id', OLD.user_id, 34359738368, NEW.user_id IS NOT OLD.user_id
                UNION ALL SELECT 'langfuse.session.id', OLD.session_id, 68719476736, NEW.session_id IS NOT OLD.session_id
                UNION ALL SELECT 'langfuse.environment', OLD.environment, 137438953472, NEW.environment IS NOT OLD.environment
                UNION ALL SELECT 'langfuse.release', OLD.release, 274877906944, NEW.release IS NOT OLD.release
                UNION ALL SELECT 'langfuse.observation.model.name', OLD.response_model, 549755813888, NEW.response_model IS NOT OLD.response_model
            ) WHERE span_payloads.mirrored & bit AND changed AND value IS NOT NULL)),
        mirrored = nullif(mirrored & ~(
          CASE WHEN NEW.request_model IS NOT OLD.request_model THEN 1048577 ELSE 0 END
        | CASE WHEN NEW.response_model IS NOT OLD.response_model THEN 549757919234 ELSE 0 END
        | CASE WHEN NEW.provider IS NOT OLD.provider THEN 4243468 ELSE 0 END
        | CASE WHEN NEW.input_tokens IS NOT OLD.input_tokens THEN 8454224 ELSE 0 END
        | CASE WHEN NEW.output_tokens IS NOT OLD.output_tokens THEN 16908448 ELSE 0 END
        | CASE WHEN NEW.cache_read_tokens IS NOT OLD.cache_read_tokens THEN 262400 ELSE 0 END
        | CASE WHEN NEW.reasoning_tokens IS NOT OLD.reasoning_tokens THEN 524800 ELSE 0 END
        | CASE WHEN NEW.prompt_name IS NOT OLD.prompt_name THEN 1024 ELSE 0 END
        | CASE WHEN NEW.prompt_version IS NOT OLD.prompt_version THEN 2048 ELSE 0 END
        | CASE WHEN NEW.session_id IS NOT OLD.session_id THEN 68753035264 ELSE 0 END
        | CASE WHEN NEW.user_id IS NOT OLD.user_id THEN 34426847232 ELSE 0 END
        | CASE WHEN NEW.tenant IS NOT OLD.tenant THEN 939524096 ELSE 0 END
        | CASE WHEN NEW.endpoint IS NOT OLD.endpoint THEN 1073741824 ELSE 0 END
        | CASE WHEN NEW.feature IS NOT OLD.feature THEN 2147483648 ELSE 0 END
        | CASE WHEN NEW.environment IS NOT OLD.environment THEN 150323855360 ELSE 0 END
        | CASE WHEN NEW.release IS NOT OLD.release THEN 292057776128 ELSE 0 END), 0)
    WHERE id = OLD.id;
END;
