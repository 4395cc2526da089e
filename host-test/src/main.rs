//! `parapet`: see `parapet --help` and host-test/README.md.

fn main() -> std::process::ExitCode {
    parapet_host::cli::main()
}
