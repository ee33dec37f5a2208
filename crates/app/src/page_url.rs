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

/// The page's views: the lab, the Explorer (`?view=explorer`) and the Dashboard
/// (`?view=dashboard`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Lab,
    Explorer,
    Dashboard,
}

impl View {
    /// The view the page's URL asks for.
    pub fn current() -> View {
        match page_param("view").as_deref() {
            Some("explorer") => View::Explorer,
            Some("dashboard") => View::Dashboard,
            _ => View::Lab,
        }
    }
}

/// The views module's script, beside the page (trunk copies it there; see index.html).
pub const VIEWS_MODULE: &str = "./tabmq-views.js";

/// The views module's styles, beside the page.
pub const VIEWS_STYLES: &str = "./views.css";

/// Links the views module's styles, then imports the module (wasm-bindgen's `web` target)
/// and starts it, which mounts the view the page's URL names; its wasm exports are left on
/// `window.tabmqViews` (the data views' bench reads their memory there). A failure is
/// shown on the page, not only in the console. The import is made by a function built here
/// (the lab already allows `Function`), not by a wasm-bindgen snippet, which would be one
/// more file on the lab's first load.
pub fn load_views_module() {
    let import = js_sys::Function::new_with_args(
        "url, css",
        "const l = document.createElement('link'); l.rel = 'stylesheet'; l.href = css; \
         document.head.append(l); return import(new URL(url, document.baseURI).href).then((m) => m.default()).then((w) => { window.tabmqViews = w; });",
    );
    wasm_bindgen_futures::spawn_local(async move {
        let started = import
            .call2(
                &wasm_bindgen::JsValue::NULL,
                &VIEWS_MODULE.into(),
                &VIEWS_STYLES.into(),
            )
            .map(js_sys::Promise::from);
        let loaded = match started {
            Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise)
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = loaded {
            // Plain DOM and the console: the lab's module carries no view for this one
            // message (the first load has no room to spare).
            web_sys::console::error_1(&e);
            let body = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body());
            if let Some(body) = body {
                body.set_text_content(Some("The view could not load; the console says why."));
            }
        }
    });
}
