//! `{{var}}` templates with mustache sections, for prompts.
//!
//! Prompts are not HTML, so nothing is escaped: `{{x}}`, `{{{x}}}` and `{{& x}}` all insert the
//! value as is. Whitespace inside tags is allowed (`{{ x }}`), so the nunjucks-style variables
//! of promptfoo configs work. Sections (`{{#x}}`, `{{^x}}`), comments (`{{! ... }}`) and the
//! mustache "standalone line" rule are supported; filters (`{{ x | upper }}`) and tags
//! (`{% if %}`) are not, and are reported as errors rather than rendered literally.
//!
//! A template is parsed once into a [`Template`] and rendered per case. A variable used outside
//! any section must be set: a typo fails loudly instead of rendering empty.

use serde_json::{Map, Value};

/// Renders `template` with `vars`. `source` names the file in errors, which name the variable.
pub fn render(template: &str, vars: &Map<String, Value>, source: &str) -> Result<String, String> {
    Template::parse(template, source)?.render(vars)
}

/// The top-level variable names a template uses (outside any section, plus the names of
/// top-level sections), in order of first use, each once. For a dotted name, its first part.
pub fn variables(template: &str) -> Result<Vec<String>, String> {
    let parsed = Template::parse(template, "template")?;
    let mut names: Vec<String> = Vec::new();
    for node in &parsed.nodes {
        let name = match node {
            Node::Var { name, .. } | Node::Section { name, .. } => name,
            Node::Text(_) => continue,
        };
        if let Some(first) = name.path.first() {
            if !names.iter().any(|n| n == first) {
                names.push(first.clone());
            }
        }
    }
    Ok(names)
}

/// A parsed template, rendered many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
    source: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Var {
        name: Name,
        line: usize,
    },
    Section {
        name: Name,
        inverted: bool,
        children: Vec<Node>,
        line: usize,
    },
}

/// A variable name split at dots; `{{.}}` has an empty path.
#[derive(Debug, Clone, PartialEq)]
struct Name {
    raw: String,
    path: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TagKind {
    Var,
    Open { inverted: bool },
    Close,
    Comment,
}

impl Template {
    /// Parses `text`; `source` names the template in error messages (`prompts/x.yaml`).
    pub fn parse(text: &str, source: &str) -> Result<Template, String> {
        Template::parse_at_line(text, source, 1)
    }

    /// Parses `text` whose first line is line `first_line` of `source` (a prompt body after
    /// front matter), so errors point at the right line of the file.
    pub(crate) fn parse_at_line(
        text: &str,
        source: &str,
        first_line: usize,
    ) -> Result<Template, String> {
        Parser {
            src: text,
            source,
            first_line,
            newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        }
        .parse()
    }

    /// Renders with `vars`. Errors name the variable, the source and the line of its tag.
    pub fn render(&self, vars: &Map<String, Value>) -> Result<String, String> {
        let mut out = String::new();
        let mut stack = vec![Ctx::Root(vars)];
        self.render_nodes(&self.nodes, &mut stack, &mut out)?;
        Ok(out)
    }

    fn render_nodes<'a>(
        &'a self,
        nodes: &'a [Node],
        stack: &mut Vec<Ctx<'a>>,
        out: &mut String,
    ) -> Result<(), String> {
        for node in nodes {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Var { name, line } => match lookup(stack, name) {
                    Some(Looked::Value(value)) => write_value(value, out),
                    Some(Looked::Root(map)) => {
                        out.push_str(&Value::Object(map.clone()).to_string());
                    }
                    None if stack.len() == 1 => {
                        let mut known: Vec<&str> = match stack.first() {
                            Some(Ctx::Root(map)) => map.keys().map(String::as_str).collect(),
                            _ => Vec::new(),
                        };
                        known.sort_unstable();
                        let known = if known.is_empty() {
                            "no variables are set".to_owned()
                        } else {
                            format!("set: {}", known.join(", "))
                        };
                        return Err(format!(
                            "{}:{line}: variable `{}` is not set ({known})",
                            self.source, name.raw
                        ));
                    }
                    // Inside a section a missing name is simply empty, as in mustache.
                    None => {}
                },
                Node::Section {
                    name,
                    inverted,
                    children,
                    ..
                } => {
                    let found = lookup(stack, name);
                    if *inverted {
                        if !truthy(found.as_ref()) {
                            self.render_nodes(children, stack, out)?;
                        }
                        continue;
                    }
                    match found {
                        None => {}
                        Some(Looked::Root(map)) => {
                            stack.push(Ctx::Root(map));
                            self.render_nodes(children, stack, out)?;
                            stack.pop();
                        }
                        Some(Looked::Value(value)) => {
                            if !truthy(Some(&Looked::Value(value))) {
                                continue;
                            }
                            if let Value::Array(items) = value {
                                for item in items {
                                    stack.push(Ctx::Value(item));
                                    self.render_nodes(children, stack, out)?;
                                    stack.pop();
                                }
                            } else {
                                stack.push(Ctx::Value(value));
                                self.render_nodes(children, stack, out)?;
                                stack.pop();
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// One level of the context stack: the case's vars, or a value a section pushed.
#[derive(Clone, Copy)]
enum Ctx<'a> {
    Root(&'a Map<String, Value>),
    Value(&'a Value),
}

enum Looked<'a> {
    Root(&'a Map<String, Value>),
    Value(&'a Value),
}

/// Resolves a name: `.` is the innermost context; otherwise the first part is looked up from
/// the innermost context outwards, and the rest inside what it found (no further fallback).
fn lookup<'a>(stack: &[Ctx<'a>], name: &Name) -> Option<Looked<'a>> {
    let Some((first, rest)) = name.path.split_first() else {
        return stack.last().map(|ctx| match *ctx {
            Ctx::Root(map) => Looked::Root(map),
            Ctx::Value(value) => Looked::Value(value),
        });
    };
    let mut current = stack.iter().rev().find_map(|ctx| match *ctx {
        Ctx::Root(map) => map.get(first),
        Ctx::Value(value) => child(value, first),
    })?;
    for part in rest {
        current = child(current, part)?;
    }
    Some(Looked::Value(current))
}

fn child<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

fn truthy(found: Option<&Looked<'_>>) -> bool {
    match found {
        None => false,
        Some(Looked::Root(_)) => true,
        Some(Looked::Value(value)) => match value {
            Value::Null | Value::Bool(false) => false,
            Value::Array(items) => !items.is_empty(),
            Value::String(s) => !s.is_empty(),
            _ => true,
        },
    }
}

/// Strings as they are, null as nothing, everything else as compact JSON.
fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => {}
        other => out.push_str(&other.to_string()),
    }
}

struct Parser<'s> {
    src: &'s str,
    source: &'s str,
    first_line: usize,
    newlines: Vec<usize>,
}

/// A section being filled while parsing.
struct Open {
    name: Name,
    inverted: bool,
    line: usize,
    children: Vec<Node>,
}

impl Parser<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.first_line + self.newlines.partition_point(|&n| n < offset)
    }

    fn error(&self, offset: usize, message: impl std::fmt::Display) -> String {
        format!("{}:{}: {message}", self.source, self.line_of(offset))
    }

    fn parse(&self) -> Result<Template, String> {
        let src = self.src;
        let mut pos = 0;
        let mut open: Vec<Open> = Vec::new();
        let mut nodes: Vec<Node> = Vec::new();
        loop {
            let next_mustache = src[pos..].find("{{").map(|i| i + pos);
            let next_block = src[pos..].find("{%").map(|i| i + pos);
            if let Some(b) = next_block {
                if next_mustache.is_none_or(|m| b < m) {
                    let end = src[b..].find("%}").map_or(src.len(), |i| b + i + 2);
                    let tag = src[b..end].lines().next().unwrap_or_default();
                    return Err(self.error(
                        b,
                        format!(
                            "template tags such as `{tag}` are not supported \
                             (use mustache sections: {{{{#name}}}}...{{{{/name}}}})"
                        ),
                    ));
                }
            }
            let Some(start) = next_mustache else {
                push_text(current(&mut nodes, &mut open), &src[pos..]);
                break;
            };
            let (inner, end) = if src[start..].starts_with("{{{") {
                let close = src[start + 3..]
                    .find("}}}")
                    .ok_or_else(|| self.error(start, "unclosed `{{{` (no matching `}}}`)"))?;
                (&src[start + 3..start + 3 + close], start + 3 + close + 3)
            } else {
                let close = src[start + 2..]
                    .find("}}")
                    .ok_or_else(|| self.error(start, "unclosed `{{` (no matching `}}`)"))?;
                (&src[start + 2..start + 2 + close], start + 2 + close + 2)
            };
            let tag_text = &src[start..end];
            let trimmed = inner.trim();
            let (kind, name_text) = match trimmed.chars().next() {
                Some('!') => (TagKind::Comment, ""),
                Some('#') => (TagKind::Open { inverted: false }, trimmed[1..].trim()),
                Some('^') => (TagKind::Open { inverted: true }, trimmed[1..].trim()),
                Some('/') => (TagKind::Close, trimmed[1..].trim()),
                Some('&') => (TagKind::Var, trimmed[1..].trim()),
                Some('>') => {
                    return Err(self.error(
                        start,
                        format!("partials such as `{tag_text}` are not supported"),
                    ))
                }
                Some('=') => {
                    return Err(self.error(
                        start,
                        format!("changing delimiters (`{tag_text}`) is not supported"),
                    ))
                }
                _ => (TagKind::Var, trimmed),
            };
            let line = self.line_of(start);
            let name = if kind == TagKind::Comment {
                None
            } else {
                Some(self.name(name_text, tag_text, start)?)
            };

            // Standalone rule: a section or comment tag alone on its line takes the whole
            // line with it, so block tags do not leave blank lines in the prompt.
            let text_end;
            if kind != TagKind::Var {
                let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
                let line_end = src[end..].find('\n').map_or(src.len(), |i| end + i);
                let before = &src[line_start..start];
                let after = src[end..line_end]
                    .strip_suffix('\r')
                    .unwrap_or(&src[end..line_end]);
                let blank = |s: &str| s.chars().all(|c| c == ' ' || c == '\t');
                if line_start >= pos && blank(before) && blank(after) {
                    text_end = line_start;
                    push_text(current(&mut nodes, &mut open), &src[pos..text_end]);
                    pos = (line_end + 1).min(src.len());
                } else {
                    text_end = start;
                    push_text(current(&mut nodes, &mut open), &src[pos..text_end]);
                    pos = end;
                }
            } else {
                text_end = start;
                push_text(current(&mut nodes, &mut open), &src[pos..text_end]);
                pos = end;
            }

            match (kind, name) {
                (TagKind::Comment, _) | (_, None) => {}
                (TagKind::Var, Some(name)) => {
                    current(&mut nodes, &mut open).push(Node::Var { name, line });
                }
                (TagKind::Open { inverted }, Some(name)) => open.push(Open {
                    name,
                    inverted,
                    line,
                    children: Vec::new(),
                }),
                (TagKind::Close, Some(name)) => {
                    let Some(section) = open.pop() else {
                        return Err(self.error(
                            start,
                            format!("`{tag_text}` closes a section that was never opened"),
                        ));
                    };
                    if section.name.raw != name.raw {
                        return Err(self.error(
                            start,
                            format!(
                                "`{tag_text}` does not match the open section `{}` (line {}); \
                                 close it with {{{{/{}}}}}",
                                section.name.raw, section.line, section.name.raw
                            ),
                        ));
                    }
                    current(&mut nodes, &mut open).push(Node::Section {
                        name: section.name,
                        inverted: section.inverted,
                        children: section.children,
                        line: section.line,
                    });
                }
            }
        }
        if let Some(section) = open.last() {
            return Err(format!(
                "{}:{}: section `{}` is never closed (add {{{{/{}}}}})",
                self.source, section.line, section.name.raw, section.name.raw
            ));
        }
        Ok(Template {
            nodes,
            source: self.source.to_owned(),
        })
    }

    /// Checks a tag's name: mustache names only, so nunjucks filters and expressions are
    /// reported instead of looked up as odd variable names.
    fn name(&self, text: &str, tag: &str, offset: usize) -> Result<Name, String> {
        if text.contains('|') {
            return Err(self.error(
                offset,
                format!("filters such as `{tag}` are not supported; compute the value into a variable instead"),
            ));
        }
        if text.is_empty() {
            return Err(self.error(offset, format!("`{tag}` names no variable")));
        }
        if text == "." {
            return Ok(Name {
                raw: ".".into(),
                path: Vec::new(),
            });
        }
        let valid_part = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '$' | ':' | '@'))
        };
        let path: Vec<String> = text.split('.').map(str::to_owned).collect();
        if !path.iter().all(|p| valid_part(p)) {
            return Err(self.error(
                offset,
                format!(
                    "expressions such as `{tag}` are not supported; \
                     use a variable name (dots look into objects: {{{{a.b}}}})"
                ),
            ));
        }
        Ok(Name {
            raw: text.to_owned(),
            path,
        })
    }
}

fn current<'a>(nodes: &'a mut Vec<Node>, open: &'a mut [Open]) -> &'a mut Vec<Node> {
    match open.last_mut() {
        Some(section) => &mut section.children,
        None => nodes,
    }
}

fn push_text(nodes: &mut Vec<Node>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Node::Text(last)) = nodes.last_mut() {
        last.push_str(text);
    } else {
        nodes.push(Node::Text(text.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("vars must be an object"),
        }
    }

    fn r(t: &str, v: Value) -> String {
        render(t, &vars(v), "t.md").unwrap()
    }

    fn err(t: &str, v: Value) -> String {
        render(t, &vars(v), "prompts/p.md").unwrap_err()
    }

    #[test]
    fn variables_insert_without_escaping_in_every_form() {
        let v = json!({"x": "<b>&\"'</b>"});
        // Prompts are not HTML: all three forms insert the raw text.
        assert_eq!(
            r("{{x}}|{{{x}}}|{{& x}}", v),
            "<b>&\"'</b>|<b>&\"'</b>|<b>&\"'</b>"
        );
    }

    #[test]
    fn whitespace_inside_tags_is_allowed() {
        assert_eq!(
            r(
                "a {{ name }} b {{{ name }}} {{#  on }}y{{/ on }}",
                json!({"name": "N", "on": true})
            ),
            "a N b N y"
        );
    }

    #[test]
    fn values_render_as_text_or_compact_json() {
        let v = json!({"s": "str", "n": 1.5, "i": 3, "b": false, "o": {"k": [1, 2]}, "a": ["x"], "z": null});
        assert_eq!(
            r("{{s}} {{n}} {{i}} {{b}} {{o}} {{a}} [{{z}}]", v),
            "str 1.5 3 false {\"k\":[1,2]} [\"x\"] []"
        );
    }

    #[test]
    fn dotted_names_look_into_objects_and_arrays() {
        let v = json!({"user": {"name": "Ada", "langs": ["en", "fr"]}});
        assert_eq!(r("{{user.name}} {{user.langs.1}}", v), "Ada fr");
    }

    #[test]
    fn missing_top_level_variable_is_an_error_naming_it_source_and_line() {
        let e = err("Hello\n\n{{ tiket }}", json!({"ticket": "x", "lang": "en"}));
        assert!(e.starts_with("prompts/p.md:3:"), "{e}");
        assert!(e.contains("`tiket`"), "{e}");
        assert!(e.contains("set: lang, ticket"), "{e}");
        let e = err("{{user.nme}}", json!({"user": {"name": "Ada"}}));
        assert!(e.contains("`user.nme`"), "{e}");
    }

    #[test]
    fn sections_follow_value_truthiness() {
        let t = "{{#v}}yes{{/v}}{{^v}}no{{/v}}";
        for falsy in [json!(false), json!(null), json!([]), json!("")] {
            assert_eq!(r(t, json!({ "v": falsy })), "no", "{falsy}");
        }
        assert_eq!(r(t, json!({})), "no", "missing is falsy");
        for truthy in [json!(true), json!(0), json!("s"), json!({"a": 1})] {
            assert_eq!(r(t, json!({ "v": truthy })), "yes", "{truthy}");
        }
    }

    #[test]
    fn list_sections_repeat_with_the_item_as_context() {
        let v = json!({"sep": ";", "items": [{"q": "a"}, {"q": "b", "sep": "!"}], "nums": [1, 2]});
        // Names resolve from the item outwards: the second item's own `sep` wins.
        assert_eq!(r("{{#items}}{{q}}{{sep}}{{/items}}", v.clone()), "a;b!");
        assert_eq!(r("{{#nums}}<{{.}}>{{/nums}}", v), "<1><2>");
    }

    #[test]
    fn object_sections_push_the_object_and_values_push_themselves() {
        let v = json!({"user": {"name": "Ada"}, "n": 7});
        assert_eq!(
            r("{{#user}}hi {{name}}{{/user}} {{#n}}[{{.}}]{{/n}}", v),
            "hi Ada [7]"
        );
    }

    #[test]
    fn missing_names_inside_sections_are_empty() {
        assert_eq!(
            r(
                "{{#items}}{{q}}{{nope}},{{/items}}",
                json!({"items": [{"q": 1}, {}]})
            ),
            "1,,"
        );
    }

    #[test]
    fn comments_render_nothing() {
        assert_eq!(r("a{{! note {{ x }}b", json!({})), "ab");
        assert_eq!(r("a{{! a note }}b", json!({})), "ab");
    }

    #[test]
    fn standalone_tags_leave_no_blank_lines() {
        let t = "Examples:\n  {{#examples}}\n- {{.}}\n  {{/examples}}\n{{! trailing note }}\nEnd\n";
        assert_eq!(
            r(t, json!({"examples": ["a", "b"]})),
            "Examples:\n- a\n- b\nEnd\n"
        );
        assert_eq!(r(t, json!({"examples": []})), "Examples:\nEnd\n");
        // CRLF lines and a standalone tag on the last line without a newline.
        assert_eq!(
            r("a\r\n{{#x}}\r\nb\r\n{{/x}}", json!({"x": true})),
            "a\r\nb\r\n"
        );
    }

    #[test]
    fn tags_sharing_a_line_with_text_are_not_standalone() {
        assert_eq!(r("a {{#x}}b{{/x}}\nc", json!({"x": true})), "a b\nc");
        // Two tags on one line: neither is alone on it.
        assert_eq!(r("{{#x}}{{/x}}\nc", json!({"x": true})), "\nc");
        // A variable tag alone on a line keeps its line.
        assert_eq!(r("a\n  {{v}}\nb", json!({"v": "V"})), "a\n  V\nb");
    }

    #[test]
    fn unclosed_and_mismatched_sections_are_errors() {
        let e = err("x\n{{#a}}\nb", json!({}));
        assert!(
            e.starts_with("prompts/p.md:2:") && e.contains("`a` is never closed"),
            "{e}"
        );
        let e = err("{{#a}}\n{{/b}}", json!({}));
        assert!(
            e.starts_with("prompts/p.md:2:")
                && e.contains("`{{/b}}`")
                && e.contains("`a` (line 1)"),
            "{e}"
        );
        let e = err("{{/a}}", json!({}));
        assert!(e.contains("never opened"), "{e}");
    }

    #[test]
    fn unclosed_braces_are_errors() {
        let e = err("a\nb {{ name", json!({"name": 1}));
        assert!(
            e.starts_with("prompts/p.md:2:") && e.contains("unclosed `{{`"),
            "{e}"
        );
        let e = err("{{{ name }}", json!({"name": 1}));
        assert!(e.contains("unclosed `{{{`"), "{e}");
    }

    #[test]
    fn nunjucks_filters_and_tags_are_rejected_by_name() {
        let e = err("x\n{{ name | upper }}", json!({"name": "a"}));
        assert!(e.starts_with("prompts/p.md:2:"), "{e}");
        assert!(
            e.contains("filters") && e.contains("`{{ name | upper }}`"),
            "{e}"
        );
        let e = err("{% if x %}y{% endif %}", json!({"x": true}));
        assert!(
            e.contains("template tags") && e.contains("`{% if x %}`"),
            "{e}"
        );
        let e = err("{{ a + 1 }}", json!({"a": 1}));
        assert!(
            e.contains("expressions") && e.contains("`{{ a + 1 }}`"),
            "{e}"
        );
        let e = err("{{> partial}}", json!({}));
        assert!(e.contains("partials"), "{e}");
    }

    #[test]
    fn front_matter_offset_shifts_error_lines() {
        let e = Template::parse_at_line("ok\n{{#a}}", "p.md", 5).unwrap_err();
        assert!(e.starts_with("p.md:6:"), "{e}");
    }

    #[test]
    fn variables_lists_top_level_names_once() {
        let names =
            variables("{{a}} {{ b.c }} {{#list}}{{inner}}{{/list}} {{^flag}}{{/flag}} {{a}} {{.}}")
                .unwrap();
        assert_eq!(names, ["a", "b", "list", "flag"]);
        assert!(variables("{{#x}}").is_err());
    }

    #[test]
    fn a_parsed_template_renders_many_cases() {
        let t = Template::parse("Q: {{q}}", "p").unwrap();
        assert_eq!(t.render(&vars(json!({"q": 1}))).unwrap(), "Q: 1");
        assert_eq!(t.render(&vars(json!({"q": "two"}))).unwrap(), "Q: two");
        assert!(t.render(&vars(json!({}))).is_err());
    }

    #[test]
    fn text_without_tags_is_unchanged() {
        let text = "Plain { braces } and } and {single}\n";
        assert_eq!(r(text, json!({})), text);
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in "[a-z{}#^/!&|%. \n]{0,40}") {
            let v = vars(json!({"a": [1, {"b": "x"}], "b": true}));
            let _ = render(&text, &v, "p");
            let _ = variables(&text);
        }

        #[test]
        fn text_without_braces_renders_verbatim(text in "[^{}%]{0,60}") {
            proptest::prop_assert_eq!(render(&text, &Map::new(), "p").unwrap(), text);
        }
    }
}
