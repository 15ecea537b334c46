//! Reading prompts (`prompts/NAME.yaml`, `prompts/NAME.md`), eval sets
//! (`evalsets/NAME/evalset.yaml` with inline cases or `cases.jsonl`/`cases.csv`) and promptfoo
//! configs into an [`EvalPlan`].
//!
//! (Interface fixed here; filled in below.)

use std::path::Path;

use crate::error::Result;
use crate::eval::plan::EvalPlan;

/// Loads the eval set at `target`: a name under `<workspace>/evalsets/`, a folder holding
/// `evalset.yaml`, the `evalset.yaml` file itself, or a `promptfooconfig.yaml`.
pub fn load_plan(workspace_root: &Path, target: &str) -> Result<EvalPlan> {
    let _ = (workspace_root, target);
    Err(crate::error::Error::NoWorkspace(
        "eval sets are not available yet".into(),
    ))
}

/// The eval sets of a workspace: `(name, path of evalset.yaml)`, sorted by name.
pub fn list_evalsets(workspace_root: &Path) -> Vec<(String, std::path::PathBuf)> {
    let _ = workspace_root;
    Vec::new()
}
