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
