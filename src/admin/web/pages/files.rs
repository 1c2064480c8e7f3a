//! A job's files: its film previews (PNG) and its archived PDF, served only from the
//! spool's previews and the queue's archive directory.

use super::*;

/// `/jobs/{id}/films/{n}.png`: the preview the archive wrote.
pub async fn preview(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let Some(n) = file
        .strip_suffix(".png")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return refused(Refusal::new(StatusCode::NOT_FOUND, "no such film"));
    };
    let found = blocking(&state, move |ctx| {
        let detail = ctx.admin.job(&id)?;
        detail
            .films
            .into_iter()
            .find(|f| f.number == n)
            .and_then(|f| f.preview)
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::NOT_FOUND,
                    format!("job {id} has no preview of film {n}"),
                )
            })
    })
    .await;
    let path = match found {
        Ok(p) => p,
        Err(r) => return refused(r),
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=3600"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => refused(Refusal::new(
            StatusCode::NOT_FOUND,
            "no preview of this film (yet)",
        )),
    }
}

/// `/jobs/{id}/pdf`: the archived PDF, as a download.
pub async fn pdf(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let found = blocking(&state, move |ctx| {
        data::job(ctx, &id)?.archive_pdf.ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                format!("job {id} has no archived PDF"),
            )
        })
    })
    .await;
    let path = match found {
        Ok(p) => p,
        Err(r) => return refused(r),
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => return refused(Refusal::new(StatusCode::NOT_FOUND, format!("the PDF: {e}"))),
    };
    let name: String = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("job.pdf")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
