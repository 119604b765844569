//! The Python that runs the test tools from PyPI (the Standard Webhooks
//! reference library, httpbin, openapi-spec-validator, schemathesis):
//! `PATCHBAY_TEST_PYTHON`, else the virtualenv `scripts/test` installs them
//! into, else `python3`.

pub fn python() -> String {
    let installed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/test-python/bin/python"
    );
    std::env::var("PATCHBAY_TEST_PYTHON").unwrap_or_else(|_| {
        match std::path::Path::new(installed).exists() {
            true => installed.to_owned(),
            false => "python3".to_owned(),
        }
    })
}

/// A Python program serving a test: started with [`python`] and `args`,
/// killed when dropped.
pub struct PythonProcess(std::process::Child);

impl PythonProcess {
    pub fn spawn(args: &[&str], stdout: std::process::Stdio) -> Self {
        let python = python();
        let child = std::process::Command::new(&python)
            .args(args)
            .stdout(stdout)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {python} ({err}); run scripts/test"));
        Self(child)
    }

    /// What it writes, when spawned with a piped stdout.
    pub fn stdout(&mut self) -> std::process::ChildStdout {
        self.0.stdout.take().expect("spawned with a piped stdout")
    }
}

impl Drop for PythonProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
