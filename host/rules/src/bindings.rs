//! Host bindings generated from `wit/rule.wit`.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "rule",
});
