//! The `warden` command line.

mod cli;

fn main() -> std::process::ExitCode {
    // `warden … | head` closes the pipe early: end quietly, as command-line tools do, instead
    // of panicking on a failed print. `warden serve` ignores SIGPIPE again: a client that hangs
    // up must not end the server.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    cli::run()
}
