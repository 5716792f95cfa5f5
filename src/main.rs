//! The `trident` binary: parse arguments, run the library, exit with its code.

fn main() {
    let code = trident::run_cli(std::env::args_os());
    std::process::exit(code);
}
