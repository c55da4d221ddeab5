//! File listing, folder search and the root folder of the built-in vault.
//!
//! - `GET /files/{my|all}/{start}/{count}`: stored files, `my` only those
//!   uploaded by the requesting principal. The optional `find` query parameter
//!   keeps files whose name or folder path contains it, ignoring case.
//! - `GET /folder_search/{folder id}/{start}/{count}`: files in the folder and
//!   its subfolders whose name contains the required `find` parameter.
//! - `GET /root_folder`: `{"folder_id", "name", "path"}` of the root.
//!
//! Both lists return `{"filter_count", "items"}`: `filter_count` is the number
//! of matching files before paging, and `items` contains at most `count` of them,
//! starting at index `start`, each in the form of the file status. The order is
//! set by `sort_column` (`created`, `name`, `path` or `size`, default
//! `created`) and `sort_direction` (`asc` or `desc`, default `desc`).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::ApiError;
use super::auth::Principal;
use super::routes::AppState;
use super::status::status_json;
use super::store::{FileRecord, folder_id, folder_segments};

/// Maximum `count` of one listing page.
pub const MAX_PAGE_SIZE: usize = 1000;

/// `GET /files/{scope}/{start}/{count}`.
pub(crate) async fn list_files(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path((scope, start, count)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let only_mine = match scope.as_str() {
        "my" => true,
        "all" => false,
        other => {
            return Err(ApiError::not_found(
                "INVALID_FILE_SCOPE",
                format!("the file list {other:?} does not exist; use files/my or files/all"),
            ));
        }
    };
    let page = Page::parse(&start, &count)?;
    let order = Order::parse(&query)?;
    let find = query.get("find").map(|find| find.to_lowercase());

    let matching: Vec<FileRecord> = state
        .store
        .all_files()
        .into_iter()
        .filter(|record| !only_mine || record.owner == principal.user_id)
        .filter(|record| {
            find.as_deref().is_none_or(|find| {
                record.name.to_lowercase().contains(find)
                    || record.path.to_lowercase().contains(find)
            })
        })
        .collect();

    Ok(Json(page_json(&state, matching, order, page)))
}

/// `GET /folder_search/{folder_id}/{start}/{count}`.
pub(crate) async fn search_folder(
    State(state): State<Arc<AppState>>,
    Path((folder, start, count)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let page = Page::parse(&start, &count)?;
    let order = Order::parse(&query)?;

    let find = query
        .get("find")
        .filter(|find| !find.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "SEARCH_TEXT_IS_REQUIRED",
                "the find query parameter is missing; send the text to search for as ?find=<text>",
            )
        })?
        .to_lowercase();

    let folder = state.store.folder(&folder).ok_or_else(|| {
        ApiError::not_found("FOLDER_NOT_FOUND", format!("folder {folder:?} not found"))
    })?;
    let folder_path = folder_segments(&folder.path);

    let matching: Vec<FileRecord> = state
        .store
        .all_files()
        .into_iter()
        .filter(|record| folder_segments(&record.path).starts_with(&folder_path))
        .filter(|record| record.name.to_lowercase().contains(&find))
        .collect();

    Ok(Json(page_json(&state, matching, order, page)))
}

/// `GET /root_folder`.
///
/// NOTE: the name and path that the product returns for its root are not
/// known. The built-in vault returns empty strings, as for a file in the root.
pub(crate) async fn root_folder(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Value>, ApiError> {
    let root_id = state
        .store
        .ensure_folder("")
        .await
        .map_err(|err| ApiError::storage("create the root folder", &folder_id(""), err))?;

    Ok(Json(
        json!({ "folder_id": root_id, "name": "", "path": "" }),
    ))
}

/// The `start` and `count` path segments of a list request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Page {
    start: usize,
    count: usize,
}

impl Page {
    fn parse(start: &str, count: &str) -> Result<Page, ApiError> {
        let invalid = |name: &str, value: &str| {
            ApiError::bad_request(
                "INVALID_PAGE",
                format!("the {name} {value:?} is not a whole number of files"),
            )
        };

        let start = start.parse().map_err(|_| invalid("start", start))?;
        let count = count.parse().map_err(|_| invalid("count", count))?;

        if count > MAX_PAGE_SIZE {
            return Err(ApiError::bad_request(
                "INVALID_PAGE",
                format!(
                    "count is {count}, more than the maximum of {MAX_PAGE_SIZE}; request several pages"
                ),
            ));
        }

        Ok(Page { start, count })
    }
}

/// The sort order of a list, from `sort_column` and `sort_direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Order {
    column: SortColumn,
    descending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortColumn {
    Created,
    Name,
    Path,
    Size,
}

impl Order {
    fn parse(query: &HashMap<String, String>) -> Result<Order, ApiError> {
        let column = match query
            .get("sort_column")
            .map(|value| value.to_ascii_lowercase())
        {
            None => SortColumn::Created,
            Some(value) => match value.as_str() {
                "created" => SortColumn::Created,
                "name" => SortColumn::Name,
                "path" => SortColumn::Path,
                "size" => SortColumn::Size,
                _ => {
                    return Err(ApiError::bad_request(
                        "INVALID_SORT_COLUMN",
                        format!("sort_column {value:?} is not one of created, name, path, size"),
                    ));
                }
            },
        };

        let descending = match query
            .get("sort_direction")
            .map(|value| value.to_ascii_lowercase())
        {
            None => true,
            Some(value) => match value.as_str() {
                "desc" => true,
                "asc" => false,
                _ => {
                    return Err(ApiError::bad_request(
                        "INVALID_SORT_DIRECTION",
                        format!("sort_direction {value:?} is neither asc nor desc"),
                    ));
                }
            },
        };

        Ok(Order { column, descending })
    }

    fn compare(&self, a: &FileRecord, b: &FileRecord) -> Ordering {
        let by_column = match self.column {
            SortColumn::Created => a.created.cmp(&b.created),
            SortColumn::Name => a.name.cmp(&b.name),
            SortColumn::Path => a.path.cmp(&b.path),
            SortColumn::Size => a.size.cmp(&b.size),
        };

        // The file id breaks ties, so pages do not overlap.
        let ordering = by_column.then_with(|| a.file_id.cmp(&b.file_id));
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }
}

/// Sorts the matching files and returns one page as `{"filter_count", "items"}`.
fn page_json(state: &AppState, mut matching: Vec<FileRecord>, order: Order, page: Page) -> Value {
    matching.sort_by(|a, b| order.compare(a, b));

    let items: Vec<Value> = matching
        .iter()
        .skip(page.start)
        .take(page.count)
        .map(|record| status_json(state, record))
        .collect();

    json!({ "filter_count": matching.len(), "items": items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_parsed() {
        assert_eq!(
            Page::parse("10", "20").unwrap(),
            Page {
                start: 10,
                count: 20
            }
        );
        assert!(Page::parse("-1", "20").is_err());
        assert!(Page::parse("0", "many").is_err());
        assert!(Page::parse("0", &(MAX_PAGE_SIZE + 1).to_string()).is_err());
    }

    #[test]
    fn order_parsed() {
        let query = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect()
        };

        assert_eq!(
            Order::parse(&query(&[])).unwrap(),
            Order {
                column: SortColumn::Created,
                descending: true
            }
        );
        assert_eq!(
            Order::parse(&query(&[
                ("sort_column", "Name"),
                ("sort_direction", "ASC")
            ]))
            .unwrap(),
            Order {
                column: SortColumn::Name,
                descending: false
            }
        );
        assert!(Order::parse(&query(&[("sort_column", "owner")])).is_err());
        assert!(Order::parse(&query(&[("sort_direction", "up")])).is_err());
    }
}
