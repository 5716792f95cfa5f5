//! The page of `trident monitor`: plain HTML, CSS and JavaScript embedded in the binary
//! and put together at compile time into one document (no CDN, no build step, works
//! offline, and nothing but the page itself to fetch, so the token in its URL is enough).
//! `GET /` and `GET /runs/{run_id}` answer it; the script reads the URL to open the runs
//! list or one run, and passes `?token=` on to every API call and event stream.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The whole page.
pub const PAGE: &str = concat!(
    include_str!("page/head.html"),
    "<style>\n",
    include_str!("page/style.css"),
    "</style>\n</head>\n",
    include_str!("page/body.html"),
    "<script>\n",
    include_str!("page/app.js"),
    "</script>\n</body>\n</html>\n"
);

/// The page, never cached (a new binary may bring a new page).
pub async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}
