//! What the page's own URL asks of the lab: `?broker=`, `?session=`, `?keepalive=` and
//! the like. A leaf: the lab's state, settings and connections all read it.

/// The broker the lab uses unless the page's URL names another.
pub const DEFAULT_BROKER: &str = "tab://lab";

/// A query parameter of the page's URL.
pub fn page_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// The broker URL the page asks for with `?broker=`, if it does.
pub fn broker_param() -> Option<String> {
    page_param("broker").filter(|u| !u.is_empty())
}

/// The broker URL the lab starts with: `?broker=`, else `tab://lab` (a broker in this tab).
/// `tab://lab?shared` shares one broker between tabs; `ws://`/`wss://` reach a real one.
pub fn broker_url() -> String {
    broker_param().unwrap_or_else(|| DEFAULT_BROKER.to_owned())
}
