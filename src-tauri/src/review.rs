//! The review view's data: which batches have a recorded diff, and one batch's diff (files and
//! patch) read with git from the refs the run wrote. A review itself is a live command
//! (`LiveCommand::ReviewBatch`), the same engine command as `leap review`.

use std::path::PathBuf;

use leapfrog_engine::git::{BatchRange, FileChange, Repo};
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

use crate::projects::Projects;

/// Patches above this many bytes are cut (the files list stays whole) so the view stays quick.
pub const MAX_PATCH_BYTES: usize = 4 * 1024 * 1024;

/// One batch's diff as the review view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BatchDiff {
    pub range: BatchRange,
    pub files: Vec<FileChange>,
    /// `git diff base head`, unified; cut at [`MAX_PATCH_BYTES`] on a line boundary.
    pub patch: String,
    pub truncated: bool,
}

fn project_dir(projects: &Projects) -> Result<PathBuf, String> {
    projects
        .lock()
        .as_ref()
        .map(|p| p.dir.clone())
        .ok_or_else(|| "no project is open".to_string())
}

fn repo(projects: &Projects) -> Result<Repo, String> {
    let dir = project_dir(projects)?;
    Repo::work_tree(&dir).ok_or_else(|| {
        format!(
            "{} is not a git repository with commits: batch diffs are recorded in git",
            dir.display()
        )
    })
}

/// `patch` cut to at most `max` bytes at a line end.
pub fn cut(patch: String, max: usize) -> (String, bool) {
    if patch.len() <= max {
        return (patch, false);
    }
    let end = patch[..max].rfind('\n').map_or(0, |i| i + 1);
    (patch[..end].to_string(), true)
}

/// The batches whose build recorded a diff start.
#[tauri::command]
pub async fn review_batches(projects: State<'_, Projects>) -> Result<Vec<u32>, String> {
    let repo = repo(&projects)?;
    tauri::async_runtime::spawn_blocking(move || repo.recorded_batches())
        .await
        .map_err(|e| e.to_string())
}

/// Batch `batch`'s diff; an error in words while its build has not completed.
#[tauri::command]
pub async fn batch_diff(projects: State<'_, Projects>, batch: u32) -> Result<BatchDiff, String> {
    let repo = repo(&projects)?;
    tauri::async_runtime::spawn_blocking(move || {
        let range = repo.batch_range(batch)?;
        let files = repo.changed_files(&range.base, &range.head)?;
        let (patch, truncated) = cut(repo.diff(&range.base, &range.head)?, MAX_PATCH_BYTES);
        Ok(BatchDiff {
            range,
            files,
            patch,
            truncated,
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_patch_is_cut_at_a_line_end() {
        assert_eq!(cut("a\nb\n".into(), 10), ("a\nb\n".into(), false));
        assert_eq!(cut("aa\nbb\ncc\n".into(), 7), ("aa\nbb\n".into(), true));
        assert_eq!(cut("aaaa".into(), 2), (String::new(), true));
    }
}
