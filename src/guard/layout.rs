//! The release layout on disk: `<root>/releases/<version>/` side by side and the `current`
//! symlink. A switch never removes `current`: it creates a new link under a temporary name
//! and `rename(2)`s it over the old one, which POSIX makes atomic, so a reader resolving
//! `current` at any instant (or after a crash at any instant) finds the old or the new
//! release, never nothing.

use super::GuardError;
use super::state::sync_dir;
use std::path::{Path, PathBuf};

/// Name of the temporary link; fixed so a crashed switch leaves at most one to clean up.
pub const TEMP_LINK: &str = ".current.guard-tmp";

/// The release root.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

/// Why a name cannot be a release: it must be one plain path component.
pub fn check_version(version: &str) -> Result<(), GuardError> {
    let ok = !version.is_empty()
        && !version.starts_with('.')
        && !version.contains('/')
        && !version.contains('\0')
        && version.len() <= 200;
    if ok {
        Ok(())
    } else {
        Err(GuardError::Release {
            version: version.to_string(),
            message: "a release name is one directory name (no `/`, not starting with `.`)".into(),
        })
    }
}

impl Layout {
    /// A layout rooted at `root`.
    pub fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
        }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/current`.
    pub fn current_path(&self) -> PathBuf {
        self.root.join("current")
    }

    /// `<root>/releases/<version>`.
    pub fn release_dir(&self, version: &str) -> PathBuf {
        self.root.join("releases").join(version)
    }

    /// Whether a release directory exists.
    pub fn release_exists(&self, version: &str) -> bool {
        check_version(version).is_ok() && self.release_dir(version).is_dir()
    }

    /// The release `current` names (`None` when the link is missing). The link target is
    /// `releases/<version>`; anything else is reported as an error.
    pub fn current(&self) -> Result<Option<String>, GuardError> {
        let link = self.current_path();
        match std::fs::read_link(&link) {
            Ok(target) => version_of_target(&target)
                .map(Some)
                .ok_or_else(|| GuardError::Release {
                    version: target.display().to_string(),
                    message: format!("{} does not point into releases/", link.display()),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(GuardError::io("read link", &link, e)),
        }
    }

    /// Remove a temporary link a crashed switch left behind.
    pub fn remove_temp_link(&self) -> Result<bool, GuardError> {
        let tmp = self.root.join(TEMP_LINK);
        match std::fs::remove_file(&tmp) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(GuardError::io("remove", &tmp, e)),
        }
    }

    /// Point `current` at `version` atomically: temp link, `after_temp` hook (tests and the
    /// crash drill pause there), `rename` over `current`, fsync of the root directory.
    pub fn point_current(&self, version: &str, after_temp: &dyn Fn()) -> Result<(), GuardError> {
        check_version(version)?;
        if !self.release_exists(version) {
            return Err(GuardError::Release {
                version: version.to_string(),
                message: format!("{} is not a directory", self.release_dir(version).display()),
            });
        }
        self.remove_temp_link()?;
        let tmp = self.root.join(TEMP_LINK);
        let target = Path::new("releases").join(version);
        std::os::unix::fs::symlink(&target, &tmp)
            .map_err(|e| GuardError::io("create link", &tmp, e))?;
        after_temp();
        let cur = self.current_path();
        std::fs::rename(&tmp, &cur).map_err(|e| GuardError::io("rename link onto", &cur, e))?;
        sync_dir(&self.root);
        Ok(())
    }
}

fn version_of_target(target: &Path) -> Option<String> {
    let mut comps = target.components();
    let first = comps.next()?;
    let second = comps.next()?;
    if comps.next().is_some() || first.as_os_str() != "releases" {
        return None;
    }
    let v = second.as_os_str().to_str()?.to_string();
    check_version(&v).ok().map(|_| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_are_single_components() {
        assert!(check_version("v1.2.3").is_ok());
        for bad in ["", ".", "..", "a/b", ".hidden"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_outside_releases_are_refused() {
        assert_eq!(
            version_of_target(Path::new("releases/v1")),
            Some("v1".into())
        );
        assert_eq!(version_of_target(Path::new("/etc")), None);
        assert_eq!(version_of_target(Path::new("releases/../x")), None);
        assert_eq!(version_of_target(Path::new("releases/v1/x")), None);
    }
}
