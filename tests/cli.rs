//! The command line: `filmd check-config` names the key and the problem; `filmd serve`
//! flags override the file.

mod common;

use std::process::Command;

fn filmd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_filmd")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn check_config_accepts_a_good_file_and_names_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[server]\nae_title = \"PRINTSCP\"\n[[queue]]\nname = \"films\"\ndpi = 600\nhigh_dpi = 600\nfilm_sizes = [\"14INX17IN\", \"8INX10IN\"]\n").unwrap();
    let (code, out, _) = filmd(&["check-config", good.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("OK") && out.contains("films") && out.contains("600 dpi"), "{out}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlisten = \"here\"\n[[queue]]\nname = \"q\"\ndpi = 10\ndefault_film_size = \"14X17\"\n").unwrap();
    let (code, _, err) = filmd(&["check-config", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    for key in ["server.listen", "queue[0].dpi", "queue[0].default_film_size"] {
        assert!(err.contains(key), "{key} not named in: {err}");
    }

    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[server]\nae_tittle = \"X\"\n").unwrap();
    let (code, _, err) = filmd(&["check-config", typo.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("ae_tittle"), "{err}");
}

#[test]
fn serve_flags_override_the_file_and_select_the_ae_title() {
    let server = common::Server::start_with(&["--ae-title", "XRAYPRINT"], Some("[server]\nae_title = \"FROMFILE\"\n"));
    assert!(common::scu::Scu::try_connect(server.port, "FROMFILE", &[]).is_err(), "the file's AE title is overridden");
    let mut scu = common::scu::Scu::try_connect(server.port, "XRAYPRINT", &[]).expect("called AE from --ae-title");
    assert_eq!(scu.echo(), 0);
    scu.release();
}
