//! The process's standard streams as the front doors use them: stdout carries only results
//! (and, in plugin mode, the go-plugin handshake), stderr carries messages for people. Shared
//! by the command line and the service, so neither depends on the other for it.

/// Write the command's result to stdout. A closed pipe (`canary-judge ... | head`) is not an
/// error worth a panic: the reader has what it wanted.
pub fn print_result(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        tracing::warn!(error = %e, "cannot write the result to stdout");
    }
}

/// Write a message for people to stderr; if even stderr is gone there is nobody to tell.
pub fn print_error(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
