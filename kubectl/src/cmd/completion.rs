//! `kubectl completion bash|zsh`: a shell completion script completing subcommands, flags,
//! resource types (from `kubectl api-resources`) and object names (from `kubectl get -o name`).

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::errors::CmdError;
use crate::util::Streams;

/// Flags of `kubectl completion`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// SHELL: bash or zsh.
    pub shell: String,
}

/// The completion script for `shell`.
pub fn script(shell: &str) -> Result<String, CmdError> {
    let cmd = Cli::command();
    let subcommands: Vec<String> = cmd.get_subcommands().map(|c| c.get_name().to_string()).collect();
    let mut flags: Vec<String> = Vec::new();
    for a in cmd.get_arguments() {
        if let Some(l) = a.get_long() {
            flags.push(format!("--{l}"));
        }
    }
    let body = format!(
        r#"# kubectl completion (rkube)
__kubectl_resources() {{
    kubectl api-resources -o name --cached 2>/dev/null | sed 's/\..*//'
}}
__kubectl_objects() {{
    kubectl get "$1" -o name 2>/dev/null | sed 's|^[^/]*/||'
}}
_kubectl() {{
    local cur prev words cword
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local commands="{commands}"
    local flags="{flags}"
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=( $(compgen -W "$commands" -- "$cur") )
        return
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
        return
    fi
    case "${{COMP_WORDS[1]}}" in
        get|describe|delete|edit|label|annotate|patch|scale|explain)
            if [[ $COMP_CWORD -eq 2 ]]; then
                COMPREPLY=( $(compgen -W "$(__kubectl_resources)" -- "$cur") )
            else
                COMPREPLY=( $(compgen -W "$(__kubectl_objects "${{COMP_WORDS[2]}}")" -- "$cur") )
            fi ;;
        logs|exec|attach|port-forward)
            COMPREPLY=( $(compgen -W "$(__kubectl_objects pods)" -- "$cur") ) ;;
    esac
}}
"#,
        commands = subcommands.join(" "),
        flags = flags.join(" ")
    );
    match shell {
        "bash" => Ok(format!("{body}complete -o default -F _kubectl kubectl\n")),
        "zsh" => Ok(format!("#compdef kubectl\nautoload -U +X bashcompinit && bashcompinit\n{body}complete -o default -F _kubectl kubectl\n")),
        other => Err(CmdError::msg(format!("Unsupported shell type {other:?}."))),
    }
}

/// `kubectl completion`.
pub fn run(a: Args, streams: &mut Streams) -> Result<(), CmdError> {
    let text = script(&a.shell)?;
    streams.out.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts() {
        let s = script("bash").unwrap();
        assert!(s.contains("complete -o default -F _kubectl kubectl") && s.contains(" get ") && s.contains("--namespace"));
        assert!(script("fish").is_err());
    }
}
