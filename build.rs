//! Build script: records the git commit and build time for `canary-judge --version`,
//! `/version` and the `X-App-Version` header, so a running binary can say what it is; and
//! compiles `proto/canaryjudge/v1/judge.proto` into the gRPC server code and the descriptor
//! set served by reflection. protoc comes from the `protoc-bin-vendored` crate (or `PROTOC`),
//! so a fresh machine needs nothing installed.

use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=CANARY_JUDGE_GIT_COMMIT={commit}");
    let build_time = std::env::var("SOURCE_DATE_EPOCH").unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs().to_string())
            .unwrap_or_else(|_| "0".to_string())
    });
    println!("cargo:rustc-env=CANARY_JUDGE_BUILD_EPOCH={build_time}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");

    #[cfg(feature = "full")]
    compile_proto()?;
    Ok(())
}

/// Generates the gRPC code from `proto/`; only the `full` build has a service to serve it.
#[cfg(feature = "full")]
fn compile_proto() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        // SAFETY: build scripts are single-threaded; nothing else reads the environment yet.
        unsafe { std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?) };
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .build_client(true)
        .file_descriptor_set_path(out.join("canaryjudge_v1_descriptor.bin"))
        .compile_protos(&["proto/canaryjudge/v1/judge.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
