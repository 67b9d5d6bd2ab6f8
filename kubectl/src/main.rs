//! The `kubectl` binary: hands the command line to [`rkube_kubectl::run`] and exits with its code.

fn main() {
    let code = rkube_kubectl::run(std::env::args_os());
    std::process::exit(code);
}
