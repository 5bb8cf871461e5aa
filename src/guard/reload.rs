//! Telling the service to load the release `current` now points to: a signal (default
//! SIGHUP) to the pid in a pid file, or a configured command such as a systemd restart.

use serde::Deserialize;
use std::path::PathBuf;

/// How the service is told to reload: a signal to the pid in a pid file, or a command.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ReloadConfig {
    /// Signal name (`HUP`, `USR1`, `USR2`, `TERM`, `INT`); default `HUP`.
    #[serde(default)]
    pub signal: Option<String>,
    /// File holding the service's pid.
    #[serde(default)]
    pub pid_file: Option<PathBuf>,
    /// Command and arguments run instead of a signal, e.g. `[systemctl, restart, app]`.
    #[serde(default)]
    pub command: Option<Vec<String>>,
}

/// Map a signal name (`HUP` or `SIGHUP`, ...) to its number.
pub fn signal_number(name: &str) -> Result<i32, String> {
    let n = name.trim().trim_start_matches("SIG");
    Ok(match n {
        "HUP" => libc::SIGHUP,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        _ => {
            return Err(format!(
                "reload.signal {name:?} is not one of HUP, USR1, USR2, TERM, INT, QUIT"
            ));
        }
    })
}

/// Send the reload. No pid file and no command means nothing to tell (the service reads
/// `current` per request); that is allowed and logged.
pub fn reload(cfg: &ReloadConfig) -> Result<(), String> {
    if let Some(cmd) = &cfg.command {
        let (prog, args) = cmd.split_first().ok_or("reload.command is empty")?;
        let status = std::process::Command::new(prog)
            .args(args)
            .status()
            .map_err(|e| format!("running {prog}: {e}"))?;
        return if status.success() {
            Ok(())
        } else {
            Err(format!("{} exited with {status}", cmd.join(" ")))
        };
    }
    let Some(pid_file) = &cfg.pid_file else {
        tracing::info!("no reload configured; the service must follow `current` by itself");
        return Ok(());
    };
    let text = std::fs::read_to_string(pid_file)
        .map_err(|e| format!("reading pid file {}: {e}", pid_file.display()))?;
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("pid file {} does not hold a pid", pid_file.display()))?;
    if pid <= 1 {
        return Err(format!(
            "pid file {} holds pid {pid}, refusing",
            pid_file.display()
        ));
    }
    let sig = signal_number(cfg.signal.as_deref().unwrap_or("HUP"))?;
    // SAFETY: kill(2) with a positive pid and a valid signal number touches no memory.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc != 0 {
        return Err(format!("kill({pid}): {}", std::io::Error::last_os_error()));
    }
    Ok(())
}
