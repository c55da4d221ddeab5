//! Subcommands of `mailgate` that need more than a few lines.

/// Prints a line of a command's report to standard output, like
/// `println!`. When the output is a pipe that was closed, as in
/// `mailgate history list | head`, the command ends with success instead of
/// panicking. Any other write error ends it with a message and failure.
macro_rules! outln {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        if let Err(error) = writeln!(std::io::stdout(), $($argument)*) {
            $crate::cli::output_failed(&error);
        }
    }};
}

/// Ends the process after a failed write of a report line; see `outln!`.
pub(crate) fn output_failed(error: &std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write the output: {error}");
    std::process::exit(1);
}

pub mod rule_test;
pub mod history;
pub mod check;
