//! Text diffs between versions of prompts, eval sets and model outputs: line diffs, unified
//! (`git diff`-style) text, and word diffs for short texts.
//!
//! The edit script is Myers' O(ND) shortest edit script over interned tokens, after trimming the
//! common prefix and suffix. The work is capped: when two inputs differ by more edits than the
//! budget allows, the differing middle is reported as deleted then inserted whole, so very
//! different long inputs cost linear time instead of quadratic memory.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Whether a piece of text is kept, added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffKind {
    /// Present in both texts.
    Equal,
    /// Only in the new text.
    Insert,
    /// Only in the old text.
    Delete,
}

/// One run of text in a word diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffOp {
    /// Kept, added or removed.
    pub kind: DiffKind,
    /// The text of the run (adjacent tokens of the same kind are merged).
    pub text: String,
}

/// One line of a line diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// Kept, added or removed.
    pub kind: DiffKind,
    /// 1-based line number in the old text (`None` for an inserted line).
    pub old_no: Option<u32>,
    /// 1-based line number in the new text (`None` for a deleted line).
    pub new_no: Option<u32>,
    /// The line without its `\n` (a `\r` of a CRLF line is kept, as `git diff` does).
    pub text: String,
    /// True on a last line that has no trailing newline (`\ No newline at end of file`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing_newline: bool,
}

/// The most edits the Myers search explores before giving up on a minimal script.
const MAX_EDITS: usize = 2_000;
/// Bound on (tokens × edits) so that long inputs lower the edit cap proportionally.
const WORK_BUDGET: usize = 40_000_000;

/// Line diff: a shortest edit script turning `old` into `new`, one entry per line. Within a
/// changed block, deletions come before insertions, as in `git diff`.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a = split_lines(old);
    let b = split_lines(new);
    let ops = diff_tokens(&a, &b);
    let (mut oi, mut ni) = (0usize, 0usize);
    let mut out = Vec::with_capacity(ops.len());
    for kind in ops {
        let (line, old_no, new_no) = match kind {
            DiffKind::Equal => {
                oi += 1;
                ni += 1;
                (b[ni - 1], Some(oi), Some(ni))
            }
            DiffKind::Delete => {
                oi += 1;
                (a[oi - 1], Some(oi), None)
            }
            DiffKind::Insert => {
                ni += 1;
                (b[ni - 1], None, Some(ni))
            }
        };
        let (text, missing_newline) = match line.strip_suffix('\n') {
            Some(t) => (t, false),
            None => (line, true),
        };
        out.push(DiffLine {
            kind,
            old_no: old_no.map(to_u32),
            new_no: new_no.map(to_u32),
            text: text.to_owned(),
            missing_newline,
        });
    }
    out
}

/// Unified diff text with `context` lines around each change and `@@ -l,s +l,s @@` hunk headers,
/// following `git diff -U<context>` conventions (a count of 1 is omitted; an empty range starts
/// at the line before it; `\ No newline at end of file` after such a line). `""` when the texts
/// are equal.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str, context: usize) -> String {
    if old == new {
        return String::new();
    }
    let lines = line_diff(old, new);
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let changes: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.kind != DiffKind::Equal)
        .map(|(i, _)| i)
        .collect();
    let mut c = 0;
    while c < changes.len() {
        // Extend the hunk while the gap of equal lines to the next change fits in two contexts.
        let first = changes[c];
        let mut last = first;
        c += 1;
        while c < changes.len() && changes[c] - last - 1 <= 2 * context {
            last = changes[c];
            c += 1;
        }
        let start = first.saturating_sub(context);
        let end = (last + context + 1).min(lines.len());
        let hunk = &lines[start..end];
        // Lines of each side before the hunk: the number of the first line on that side, minus one.
        let old_before = lines[..start].iter().filter(|l| l.old_no.is_some()).count();
        let new_before = lines[..start].iter().filter(|l| l.new_no.is_some()).count();
        let old_len = hunk.iter().filter(|l| l.old_no.is_some()).count();
        let new_len = hunk.iter().filter(|l| l.new_no.is_some()).count();
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(old_before, old_len),
            range(new_before, new_len)
        ));
        for l in hunk {
            let sign = match l.kind {
                DiffKind::Equal => ' ',
                DiffKind::Insert => '+',
                DiffKind::Delete => '-',
            };
            out.push(sign);
            out.push_str(&l.text);
            out.push('\n');
            if l.missing_newline {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// Word-level diff for short texts (model outputs). Tokens are runs of letters/digits/`_`, runs
/// of whitespace, and single other characters; adjacent runs of one kind are merged, and a
/// whitespace-only run squeezed between two changes joins them so the result reads as phrases.
pub fn word_diff(old: &str, new: &str) -> Vec<DiffOp> {
    let a = split_words(old);
    let b = split_words(new);
    let kinds = diff_tokens(&a, &b);
    let (mut ai, mut bi) = (0usize, 0usize);
    let mut raw: Vec<DiffOp> = Vec::new();
    for kind in kinds {
        let tok = match kind {
            DiffKind::Equal => {
                ai += 1;
                bi += 1;
                b[bi - 1]
            }
            DiffKind::Delete => {
                ai += 1;
                a[ai - 1]
            }
            DiffKind::Insert => {
                bi += 1;
                b[bi - 1]
            }
        };
        push_op(&mut raw, kind, tok);
    }
    absorb_whitespace(raw)
}

/// A one-line rendering of [`word_diff`] for terminals and Markdown: unchanged text as is,
/// `[-removed-]` and `{+added+}` around changes, newlines shown as `⏎`.
pub fn inline(old: &str, new: &str) -> String {
    let mut out = String::new();
    for op in word_diff(old, new) {
        let text = op.text.replace("\r\n", "⏎").replace('\n', "⏎");
        match op.kind {
            DiffKind::Equal => out.push_str(&text),
            DiffKind::Delete => {
                out.push_str("[-");
                out.push_str(&text);
                out.push_str("-]");
            }
            DiffKind::Insert => {
                out.push_str("{+");
                out.push_str(&text);
                out.push_str("+}");
            }
        }
    }
    out
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `start,len` in unified-diff form: `start` is 1-based, or the line before an empty range.
fn range(before: usize, len: usize) -> String {
    match len {
        0 => format!("{before},0"),
        1 => format!("{}", before + 1),
        _ => format!("{},{len}", before + 1),
    }
}

/// Lines with their `\n` kept, so a missing final newline is a difference.
fn split_lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

fn split_words(s: &str) -> Vec<&str> {
    #[derive(PartialEq)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<Class> = None;
    for (i, c) in s.char_indices() {
        let cls = class(c);
        let boundary = match &prev {
            None => false,
            Some(p) => *p != cls || cls == Class::Other,
        };
        if boundary {
            out.push(&s[start..i]);
            start = i;
        }
        prev = Some(cls);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn push_op(ops: &mut Vec<DiffOp>, kind: DiffKind, text: &str) {
    match ops.last_mut() {
        Some(last) if last.kind == kind => last.text.push_str(text),
        _ => ops.push(DiffOp {
            kind,
            text: text.to_owned(),
        }),
    }
}

/// Merges whitespace-only equal runs lying between changes into the surrounding delete and
/// insert, then regroups each changed block as one delete followed by one insert.
fn absorb_whitespace(ops: Vec<DiffOp>) -> Vec<DiffOp> {
    let is_change = |op: Option<&DiffOp>| op.is_some_and(|o| o.kind != DiffKind::Equal);
    let mut out: Vec<DiffOp> = Vec::new();
    let (mut del, mut ins) = (String::new(), String::new());
    let mut in_change = false;
    for (i, op) in ops.iter().enumerate() {
        let squeezed = op.kind == DiffKind::Equal
            && in_change
            && op.text.chars().all(char::is_whitespace)
            && is_change(ops.get(i + 1));
        match op.kind {
            DiffKind::Delete => {
                del.push_str(&op.text);
                in_change = true;
            }
            DiffKind::Insert => {
                ins.push_str(&op.text);
                in_change = true;
            }
            DiffKind::Equal if squeezed => {
                del.push_str(&op.text);
                ins.push_str(&op.text);
            }
            DiffKind::Equal => {
                flush_change(&mut out, &mut del, &mut ins);
                in_change = false;
                push_op(&mut out, DiffKind::Equal, &op.text);
            }
        }
    }
    flush_change(&mut out, &mut del, &mut ins);
    out
}

fn flush_change(out: &mut Vec<DiffOp>, del: &mut String, ins: &mut String) {
    if !del.is_empty() {
        push_op(out, DiffKind::Delete, del);
        del.clear();
    }
    if !ins.is_empty() {
        push_op(out, DiffKind::Insert, ins);
        ins.clear();
    }
}

/// The edit script turning `a` into `b`, one kind per token consumed. Each changed block lists
/// its deletions before its insertions.
fn diff_tokens<'t>(a: &[&'t str], b: &[&'t str]) -> Vec<DiffKind> {
    // Intern tokens so that the search compares integers, not strings.
    let mut ids: HashMap<&'t str, u32> = HashMap::new();
    let mut intern = |t: &'t str| -> u32 {
        let next = to_u32(ids.len());
        *ids.entry(t).or_insert(next)
    };
    let a: Vec<u32> = a.iter().map(|t| intern(t)).collect();
    let b: Vec<u32> = b.iter().map(|t| intern(t)).collect();

    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);

    let mut out = vec![DiffKind::Equal; prefix];
    let cap = MAX_EDITS.min(WORK_BUDGET / (ma.len() + mb.len()).max(1));
    let middle = myers(ma, mb, cap).unwrap_or_else(|| {
        let mut all = vec![DiffKind::Delete; ma.len()];
        all.extend(std::iter::repeat_n(DiffKind::Insert, mb.len()));
        all
    });
    out.extend(deletes_first(middle));
    out.extend(std::iter::repeat_n(DiffKind::Equal, suffix));
    out
}

/// Reorders each run of changes so its deletions precede its insertions (still a valid script).
fn deletes_first(ops: Vec<DiffKind>) -> Vec<DiffKind> {
    let mut out = Vec::with_capacity(ops.len());
    let (mut dels, mut inss) = (0usize, 0usize);
    for op in ops {
        match op {
            DiffKind::Delete => dels += 1,
            DiffKind::Insert => inss += 1,
            DiffKind::Equal => {
                out.extend(std::iter::repeat_n(DiffKind::Delete, dels));
                out.extend(std::iter::repeat_n(DiffKind::Insert, inss));
                (dels, inss) = (0, 0);
                out.push(DiffKind::Equal);
            }
        }
    }
    out.extend(std::iter::repeat_n(DiffKind::Delete, dels));
    out.extend(std::iter::repeat_n(DiffKind::Insert, inss));
    out
}

/// Myers' greedy shortest edit script; `None` when it needs more than `max_d` edits.
fn myers(a: &[u32], b: &[u32], max_d: usize) -> Option<Vec<DiffKind>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let dmax = (a.len() + b.len()).min(max_d) as isize;
    let offset = dmax + 1;
    // v[k + offset] = furthest x reached on diagonal k = x - y.
    let mut v = vec![0isize; (2 * dmax + 3) as usize];
    // trace[d] = v over diagonals -d..=d after step d, for the backtrack.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    let mut found = None;
    'search: for d in 0..=dmax {
        let mut k = -d;
        while k <= d {
            let down =
                k == -d || (k != d && v[(k - 1 + offset) as usize] < v[(k + 1 + offset) as usize]);
            let mut x = if down {
                v[(k + 1 + offset) as usize]
            } else {
                v[(k - 1 + offset) as usize] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[(k + offset) as usize] = x;
            if x >= n && y >= m {
                found = Some(d);
                break 'search;
            }
            k += 2;
        }
        trace.push(v[(offset - d) as usize..=(offset + d) as usize].to_vec());
    }
    let d_end = found?;

    let mut ops = Vec::with_capacity(a.len() + b.len());
    let (mut x, mut y) = (n, m);
    for d in (1..=d_end).rev() {
        let prev = &trace[(d - 1) as usize];
        let at = |k: isize| prev[(k + d - 1) as usize];
        let k = x - y;
        let prev_k = if k == -d || (k != d && at(k - 1) < at(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = at(prev_k);
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            ops.push(DiffKind::Equal);
            x -= 1;
            y -= 1;
        }
        ops.push(if x == prev_x {
            DiffKind::Insert
        } else {
            DiffKind::Delete
        });
        x = prev_x;
        y = prev_y;
    }
    while x > 0 && y > 0 {
        ops.push(DiffKind::Equal);
        x -= 1;
        y -= 1;
    }
    ops.reverse();
    Some(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn render(lines: &[DiffLine]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                let sign = match l.kind {
                    DiffKind::Equal => ' ',
                    DiffKind::Insert => '+',
                    DiffKind::Delete => '-',
                };
                format!("{sign}{}", l.text)
            })
            .collect()
    }

    /// Rebuilds one side of a line diff: the old side from equal+deleted lines, the new side
    /// from equal+inserted lines.
    fn side(lines: &[DiffLine], old: bool) -> String {
        let skip = if old {
            DiffKind::Insert
        } else {
            DiffKind::Delete
        };
        let mut s = String::new();
        for l in lines.iter().filter(|l| l.kind != skip) {
            s.push_str(&l.text);
            if !l.missing_newline {
                s.push('\n');
            }
        }
        s
    }

    #[test]
    fn equal_texts() {
        let d = line_diff("a\nb\n", "a\nb\n");
        assert_eq!(render(&d), [" a", " b"]);
        assert_eq!(d[1].old_no, Some(2));
        assert_eq!(d[1].new_no, Some(2));
        assert_eq!(unified("a\nb\n", "a\nb\n", "a/x", "b/x", 3), "");
        assert!(line_diff("", "").is_empty());
        assert_eq!(inline("same text", "same text"), "same text");
    }

    #[test]
    fn insert_delete_replace() {
        let d = line_diff("a\nc\n", "a\nb\nc\n");
        assert_eq!(render(&d), [" a", "+b", " c"]);
        assert_eq!((d[1].old_no, d[1].new_no), (None, Some(2)));
        assert_eq!((d[2].old_no, d[2].new_no), (Some(2), Some(3)));

        let d = line_diff("a\nb\nc\n", "a\nc\n");
        assert_eq!(render(&d), [" a", "-b", " c"]);
        assert_eq!((d[1].old_no, d[1].new_no), (Some(2), None));

        // A replaced block lists its deletions first, like git.
        let d = line_diff("a\nb\nc\nd\n", "a\nX\nY\nd\n");
        assert_eq!(render(&d), [" a", "-b", "-c", "+X", "+Y", " d"]);

        let d = line_diff("", "x\ny\n");
        assert_eq!(render(&d), ["+x", "+y"]);
        let d = line_diff("x\ny\n", "");
        assert_eq!(render(&d), ["-x", "-y"]);
    }

    #[test]
    fn missing_final_newline_is_a_change() {
        let d = line_diff("a\nb", "a\nb\n");
        assert_eq!(render(&d), [" a", "-b", "+b"]);
        assert!(d[1].missing_newline);
        assert!(!d[2].missing_newline);
        assert_eq!(
            unified("a\nb", "a\nb\n", "a/f", "b/f", 3),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
        );
        let json = serde_json::to_value(&d[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "equal", "old_no": 1, "new_no": 1, "text": "a"})
        );
        assert_eq!(
            serde_json::to_value(&d[1]).unwrap()["missing_newline"],
            true
        );
    }

    fn numbered(range: std::ops::RangeInclusive<u32>) -> String {
        range.map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn unified_hunks_follow_git_conventions() {
        // 20 lines; change line 2 and line 18: far apart, so two hunks with 3 lines of context.
        let old = numbered(1..=20);
        let new = old
            .replace("line 2\n", "line two\n")
            .replace("line 18\n", "");
        let u = unified(&old, &new, "a/p.txt", "b/p.txt", 3);
        let expected = "--- a/p.txt\n+++ b/p.txt\n\
            @@ -1,5 +1,5 @@\n line 1\n-line 2\n+line two\n line 3\n line 4\n line 5\n\
            @@ -15,6 +15,5 @@\n line 15\n line 16\n line 17\n-line 18\n line 19\n line 20\n";
        assert_eq!(u, expected);

        // Changes 6 equal lines apart merge into one hunk at -U3; 7 apart do not.
        let new = old
            .replace("line 5\n", "five\n")
            .replace("line 12\n", "twelve\n");
        let u = unified(&old, &new, "a", "b", 3);
        assert_eq!(u.matches("@@ -").count(), 1, "{u}");
        assert!(u.contains("@@ -2,14 +2,14 @@\n"), "{u}");
        let new = old
            .replace("line 5\n", "five\n")
            .replace("line 13\n", "thirteen\n");
        let u = unified(&old, &new, "a", "b", 3);
        assert_eq!(u.matches("@@ -").count(), 2, "{u}");

        // Zero context: single-line ranges omit the count, empty ranges name the line before.
        let new = old.replace("line 10\n", "line 10\nnew\n");
        let u = unified(&old, &new, "a", "b", 0);
        assert_eq!(u, "--- a\n+++ b\n@@ -10,0 +11 @@\n+new\n");
        let u = unified("", "x\n", "/dev/null", "b/x", 3);
        assert_eq!(u, "--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+x\n");
        let u = unified("x\n", "", "a/x", "/dev/null", 3);
        assert_eq!(u, "--- a/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n");
    }

    #[test]
    fn word_diff_and_inline() {
        let ops = word_diff("The cat sat.", "The dog sat!");
        assert_eq!(
            ops,
            vec![
                DiffOp {
                    kind: DiffKind::Equal,
                    text: "The ".into()
                },
                DiffOp {
                    kind: DiffKind::Delete,
                    text: "cat".into()
                },
                DiffOp {
                    kind: DiffKind::Insert,
                    text: "dog".into()
                },
                DiffOp {
                    kind: DiffKind::Equal,
                    text: " sat".into()
                },
                DiffOp {
                    kind: DiffKind::Delete,
                    text: ".".into()
                },
                DiffOp {
                    kind: DiffKind::Insert,
                    text: "!".into()
                },
            ]
        );
        assert_eq!(
            inline("The cat sat.", "The dog sat!"),
            "The [-cat-]{+dog+} sat[-.-]{+!+}"
        );
        // Consecutive changed words read as one phrase.
        assert_eq!(
            inline("a quick brown fox", "a slow red fox"),
            "a [-quick brown-]{+slow red+} fox"
        );
        assert_eq!(inline("", "new words"), "{+new words+}");
        assert_eq!(
            inline("line one\nline two", "line one\nline 2"),
            "line one⏎line [-two-]{+2+}"
        );
        let json = serde_json::to_value(&ops[1]).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "delete", "text": "cat"}));
        // Both sides are recoverable from the ops.
        let old: String = ops
            .iter()
            .filter(|o| o.kind != DiffKind::Insert)
            .map(|o| o.text.as_str())
            .collect();
        let new: String = ops
            .iter()
            .filter(|o| o.kind != DiffKind::Delete)
            .map(|o| o.text.as_str())
            .collect();
        assert_eq!(
            (old.as_str(), new.as_str()),
            ("The cat sat.", "The dog sat!")
        );
    }

    #[test]
    fn large_inputs_are_fast_and_capped() {
        // A few thousand lines with scattered edits: a minimal script.
        let old = numbered(1..=5000);
        let mut new = String::new();
        for i in 1..=5000u32 {
            if i % 100 == 0 {
                new.push_str(&format!("changed {i}\n"));
            } else {
                new.push_str(&format!("line {i}\n"));
            }
        }
        let start = std::time::Instant::now();
        let d = line_diff(&old, &new);
        let changed = d.iter().filter(|l| l.kind != DiffKind::Equal).count();
        assert_eq!(changed, 100);
        assert_eq!(side(&d, false), new);

        // Entirely different long inputs: beyond the budget, delete-all then insert-all.
        let a: String = (0..20_000).map(|i| format!("a{i}\n")).collect();
        let b: String = (0..20_000).map(|i| format!("b{i}\n")).collect();
        let d = line_diff(&a, &b);
        assert_eq!(d.len(), 40_000);
        assert!(d[..20_000].iter().all(|l| l.kind == DiffKind::Delete));
        assert_eq!(side(&d, true), a);
        assert_eq!(side(&d, false), b);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
    }

    proptest! {
        #[test]
        fn applying_a_line_diff_yields_new(
            old in proptest::collection::vec(prop_oneof!["a", "b", "c", "", "d\r"], 0..40),
            new in proptest::collection::vec(prop_oneof!["a", "b", "c", "", "d\r"], 0..40),
            old_nl in any::<bool>(),
            new_nl in any::<bool>(),
        ) {
            let mut old = old.join("\n");
            if old_nl && !old.is_empty() { old.push('\n'); }
            let mut new = new.join("\n");
            if new_nl && !new.is_empty() { new.push('\n'); }
            let d = line_diff(&old, &new);
            prop_assert_eq!(side(&d, true), old.clone());
            prop_assert_eq!(side(&d, false), new.clone());
            // Line numbers run 1.. on each side without gaps.
            let olds: Vec<u32> = d.iter().filter_map(|l| l.old_no).collect();
            let news: Vec<u32> = d.iter().filter_map(|l| l.new_no).collect();
            prop_assert_eq!(olds, (1..=split_lines(&old).len() as u32).collect::<Vec<_>>());
            prop_assert_eq!(news, (1..=split_lines(&new).len() as u32).collect::<Vec<_>>());
            // Minimal: no more equal lines could be kept than the longest common subsequence.
            let equal = d.iter().filter(|l| l.kind == DiffKind::Equal).count();
            prop_assert_eq!(equal, lcs(&split_lines(&old), &split_lines(&new)));
        }

        #[test]
        fn word_diff_recovers_both_sides(old in "[a-c .,\n]{0,30}", new in "[a-c .,\n]{0,30}") {
            let ops = word_diff(&old, &new);
            let o: String = ops.iter().filter(|o| o.kind != DiffKind::Insert).map(|o| o.text.as_str()).collect();
            let n: String = ops.iter().filter(|o| o.kind != DiffKind::Delete).map(|o| o.text.as_str()).collect();
            prop_assert_eq!(o, old);
            prop_assert_eq!(n, new);
        }
    }

    fn lcs(a: &[&str], b: &[&str]) -> usize {
        let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t[i][j] = if a[i - 1] == b[j - 1] {
                    t[i - 1][j - 1] + 1
                } else {
                    t[i - 1][j].max(t[i][j - 1])
                };
            }
        }
        t[a.len()][b.len()]
    }
}
