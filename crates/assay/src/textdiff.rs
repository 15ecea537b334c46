//! Text diffs (in progress).

/// A compact one-line rendering of a word diff: `[-old-]{+new+}` around changes.
pub fn inline(old: &str, new: &str) -> String {
    format!("[-{old}-]{{+{new}+}}")
}

/// One line of a line diff.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DiffLine {
    /// `equal`, `insert` or `delete`.
    pub kind: String,
    /// Line number in the old text.
    pub old_no: Option<u32>,
    /// Line number in the new text.
    pub new_no: Option<u32>,
    /// The line, without its newline.
    pub text: String,
}
