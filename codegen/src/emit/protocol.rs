//! `protocol.rs`: `Method`, params/result types, the `Handler` trait and `dispatch`; `Event` and its
//! payloads; `ErrorCode`. Named types come from the config module (`use super::config::*`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::config::{TypeNames, rust_type};
use super::runtime_paths::RPC;
use crate::model::*;
use crate::names;

fn fields_struct(
    spec: &Spec,
    tn: &TypeNames,
    name: &proc_macro2::Ident,
    doc: &str,
    fields: &[Field],
    deny: bool,
) -> TokenStream {
    let mut uniq = names::Uniq::default();
    let decls = fields.iter().map(|f| {
        let fi: TokenStream = uniq.fresh(&names::snake(&f.name)).parse().unwrap_or_else(|_| quote!(invalid));
        let wire = &f.name;
        let t = rust_type(spec, tn, f.node);
        let fdoc = spec.nodes[f.node].attrs.doc.clone().unwrap_or_else(|| format!("`{wire}`"));
        if f.required {
            quote!(#[doc = #fdoc] #[serde(rename = #wire)] pub #fi: #t,)
        } else {
            quote!(#[doc = #fdoc] #[serde(rename = #wire, default, skip_serializing_if = "Option::is_none")] pub #fi: Option<#t>,)
        }
    });
    let deny = if deny {
        quote!(#[serde(deny_unknown_fields)])
    } else {
        quote!()
    };
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #deny
        pub struct #name { #(#decls)* }
    }
}

fn payload_type(
    spec: &Spec,
    tn: &TypeNames,
    name: &proc_macro2::Ident,
    doc: &str,
    p: &Payload,
    items: &mut Vec<TokenStream>,
) {
    match p {
        Payload::Fields(fields) => items.push(fields_struct(spec, tn, name, doc, fields, false)),
        Payload::Node(id) => {
            let t = rust_type(spec, tn, *id);
            items.push(quote!(#[doc = #doc] pub type #name = #t;));
        }
    }
}

pub fn emit(spec: &Spec) -> TokenStream {
    let tn = TypeNames::new(spec);
    let rpc: TokenStream = RPC.parse().unwrap_or_else(|_| quote!(crate));
    let mut items = Vec::new();
    let mut variants = Vec::new();
    let mut wire_arms = Vec::new();
    let mut from_arms = Vec::new();
    let mut scope_arms = Vec::new();
    let mut all = Vec::new();
    let mut trait_fns = Vec::new();
    let mut dispatch_arms = Vec::new();
    for m in &spec.methods {
        let base = names::pascal(&m.name);
        let v = format_ident!("{}", base);
        let wire = &m.name;
        let doc = &m.doc;
        variants.push(quote!(#[doc = #doc] #v,));
        wire_arms.push(quote!(Method::#v => #wire,));
        from_arms.push(quote!(#wire => Some(Method::#v),));
        all.push(quote!(Method::#v,));
        let scope = match &m.scope {
            Some(s) => quote!(Some(#s)),
            None => quote!(None),
        };
        scope_arms.push(quote!(Method::#v => #scope,));
        let params = format_ident!("{}Params", base);
        let result = format_ident!("{}Result", base);
        items.push(fields_struct(
            spec,
            &tn,
            &params,
            &format!("Params of `{wire}`."),
            &m.params,
            !m.ignore_unknown_params,
        ));
        payload_type(
            spec,
            &tn,
            &result,
            &format!("Result of `{wire}`."),
            &m.result,
            &mut items,
        );
        if m.name == "connect" {
            dispatch_arms.push(quote!(Method::#v => Err(#rpc::RpcError::connect_not_first()),));
            continue;
        }
        let f = format_ident!("{}", names::snake(&m.name));
        trait_fns.push(quote! {
            #[doc = #doc]
            fn #f(&self, params: #params) -> impl std::future::Future<Output = Result<#result, #rpc::RpcError>> + Send;
        });
        dispatch_arms.push(quote! {
            Method::#v => {
                let p: #params = #rpc::parse_params(#wire, params)?;
                #rpc::to_payload(h.#f(p).await?)
            }
        });
    }

    let mut ev_variants = Vec::new();
    let mut ev_names = Vec::new();
    let mut ev_payload = Vec::new();
    let mut ev_all = Vec::new();
    for e in &spec.events {
        let base = names::pascal(&e.name);
        let v = format_ident!("{}", base);
        let payload = format_ident!("{}Payload", base);
        let wire = &e.name;
        let doc = &e.doc;
        payload_type(
            spec,
            &tn,
            &payload,
            &format!("Payload of the `{wire}` event."),
            &e.payload,
            &mut items,
        );
        ev_variants.push(quote!(#[doc = #doc] #v(#payload),));
        ev_names.push(quote!(Event::#v(_) => #wire,));
        ev_payload.push(quote!(Event::#v(p) => serde_json::to_value(p),));
        ev_all.push(quote!(#wire,));
    }

    let mut err_variants = Vec::new();
    let mut err_str = Vec::new();
    let mut err_from = Vec::new();
    let mut err_doc = Vec::new();
    let mut err_all = Vec::new();
    for e in &spec.errors {
        let v = format_ident!("{}", names::pascal(&e.code));
        let code = &e.code;
        let doc = &e.doc;
        err_variants.push(quote!(#[doc = #doc] #[serde(rename = #code)] #v,));
        err_str.push(quote!(ErrorCode::#v => #code,));
        err_from.push(quote!(#code => Ok(ErrorCode::#v),));
        err_doc.push(quote!(ErrorCode::#v => #doc,));
        err_all.push(quote!(ErrorCode::#v,));
    }
    let h_unused = if trait_fns.is_empty() {
        quote!(let _ = h;)
    } else {
        quote!()
    };

    quote! {

        #[allow(unused_imports)]
        use super::config::*;

        /// Every RPC method the gateway serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Method { #(#variants)* }

        impl Method {
            /// Every method, in spec order (what `hello-ok.features.methods` advertises).
            pub const ALL: &'static [Method] = &[#(#all)*];
            /// The wire name.
            pub fn as_str(&self) -> &'static str { match self { #(#wire_arms)* } }
            /// Looks up a wire name.
            pub fn from_wire(s: &str) -> Option<Method> { match s { #(#from_arms)* _ => None } }
            /// The operator scope a caller needs; `None` means the default (`operator.admin`).
            pub fn scope(&self) -> Option<&'static str> { match self { #(#scope_arms)* } }
        }

        #(#items)*

        /// One async method per RPC (except `connect`, which the connection handles itself).
        pub trait Handler: Sync {
            #(#trait_fns)*
        }

        /// Decodes `params`, calls the handler and encodes its result.
        pub async fn dispatch<H: Handler>(h: &H, method: Method, params: serde_json::Value) -> Result<serde_json::Value, #rpc::RpcError> {
            #h_unused
            match method { #(#dispatch_arms)* }
        }

        /// Every server → client event.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event { #(#ev_variants)* }

        impl Event {
            /// Event names, in spec order (what `hello-ok.features.events` advertises).
            pub const NAMES: &'static [&'static str] = &[#(#ev_all)*];
            /// The wire name.
            pub fn name(&self) -> &'static str { match self { #(#ev_names)* } }
            /// The payload as JSON.
            pub fn payload(&self) -> Result<serde_json::Value, serde_json::Error> { match self { #(#ev_payload)* } }
        }

        /// Error codes carried in `error.code`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum ErrorCode { #(#err_variants)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[#(#err_all)*];
            /// The wire string.
            pub fn as_str(&self) -> &'static str { match self { #(#err_str)* } }
            /// What the code means.
            pub fn doc(&self) -> &'static str { match self { #(#err_doc)* } }
        }

        impl std::str::FromStr for ErrorCode {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> { match s { #(#err_from)* _ => Err(()) } }
        }

        impl std::fmt::Display for ErrorCode {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    }
}
