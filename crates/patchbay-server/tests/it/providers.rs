//! `GET /api/v1/providers`: the built-in catalogue, public, filtered and
//! searched, one provider by id or by Paragon type.

use patchbay_config::catalogue;
use patchbay_sdk::Patchbay;
use patchbay_test_support::{TestDb, TestServer, backend_tests};

use crate::fixtures::api_error;

async fn the_catalogue_lists_filters_and_shows_its_providers(db: TestDb) {
    let server = TestServer::start(&db).await;
    let patchbay = Patchbay::new(server.url(""));

    let all = patchbay.providers(None, None).await.unwrap().data;
    assert!(all.len() >= 150, "{} providers", all.len());
    assert_eq!(all.len(), catalogue().len());
    let ids: Vec<&str> = all.iter().map(|provider| provider.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);

    let crm = patchbay.providers(Some("crm"), None).await.unwrap().data;
    assert!(crm.iter().any(|provider| provider.id == "salesforce"));
    assert!(crm.len() < all.len());
    assert!(
        crm.iter()
            .all(|provider| provider.categories.iter().any(|c| c == "crm"))
    );

    // Search is without case, over id, name and Paragon type.
    let teams = patchbay.providers(None, Some("TEAMS")).await.unwrap().data;
    assert!(
        teams
            .iter()
            .any(|provider| provider.id == "microsoft-teams")
    );
    let by_paragon_type = patchbay
        .providers(None, Some("googleanalyticsga4"))
        .await
        .unwrap()
        .data;
    let found: Vec<&str> = by_paragon_type.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(found, ["google-analytics"]);
    let both = patchbay
        .providers(Some("file-storage"), Some("google"))
        .await
        .unwrap()
        .data;
    let found: Vec<&str> = both.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        found,
        [
            "google-cloud-storage",
            "google-drive",
            "google-drive-service-account"
        ]
    );
    assert!(
        patchbay
            .providers(None, Some("no such provider"))
            .await
            .unwrap()
            .data
            .is_empty()
    );

    let by_id = patchbay.provider("google-calendar").await.unwrap().0;
    let by_alias = patchbay.provider("googleCalendar").await.unwrap().0;
    assert_eq!(by_id, by_alias);
    assert_eq!(by_id["id"], "google-calendar");
    assert_eq!(by_id["auth"]["type"], "oauth2");
    assert_eq!(by_id["paragonType"], "googleCalendar");
}

async fn bad_catalogue_requests_get_clear_errors(db: TestDb) {
    let server = TestServer::start(&db).await;
    let patchbay = Patchbay::new(server.url(""));

    let err = patchbay.providers(Some("storage"), None).await.unwrap_err();
    let body = api_error(&err, 400, "invalid_parameter");
    assert!(body.message.contains("file-storage"), "{}", body.message);
    for name in [
        "nope",
        "GoogleCalendar",
        "../providers/slack",
        "slack.yaml",
        " ",
    ] {
        let err = patchbay.provider(name).await.unwrap_err();
        api_error(&err, 404, "provider_not_found");
    }
    let response = reqwest::get(server.url("/api/v1/providers?categry=crm"))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_parameter");
}

backend_tests!(
    the_catalogue_lists_filters_and_shows_its_providers,
    bad_catalogue_requests_get_clear_errors,
);
