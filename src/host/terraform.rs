//! A Terraform module, evaluated as far as warden can without Terraform: variables (defaults,
//! `.tfvars`, `--var`), locals, `for_each` and `count` over known values, local child
//! modules, `dynamic` blocks, `file()`, `templatefile()`, `yamldecode()`/`jsondecode()` of
//! files and the common collection functions. Strings keep the origin of every byte, so a policy assembled from a
//! variable default and a heredoc is still checked at the right lines. What cannot be worked
//! out is an [`Unknown`] that says what to supply.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use hcl_edit::Span;
use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::structure::{Block, Body};
use hcl_edit::template::Element;

use super::format::TextKind;
use super::hcl::{self, FILLER_LINES, HOSTED_TEXTS};
use super::model::{
    At, Model, ModelBinding, ModelGroup, ModelLevel, ModelParameter, ModelServiceUser, ModelUser, NamedText, PolicyRef,
};
use super::reader::{Found, Sources, Via};
use super::rules;
use super::traced::{FileId, Form, Traced};
use super::yaml;
use crate::diagnostic::Diagnostic;

/// Values given on the command line, as Terraform takes them.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    /// `--var name=value`, in order.
    pub values: Vec<(String, String)>,
    /// `--var-file x.tfvars`, in order.
    pub files: Vec<PathBuf>,
}

/// Something warden cannot work out, where it stands, and what would settle it.
#[derive(Debug)]
pub(super) struct Unknown {
    file: FileId,
    span: Range<usize>,
    what: String,
    supply: String,
}

/// A resource attribute: `dynatrace_iam_policy.admin.id`.
#[derive(Debug)]
pub(super) struct Reference {
    /// `dynatrace_iam_policy`, or `data.dynatrace_iam_policy`.
    kind: String,
    /// The instance's warden key (`admin`, `iam.admin`, `boundary.team_a`).
    key: String,
    file: FileId,
    span: Range<usize>,
}

/// A value of the Terraform language as far as warden works it out.
#[derive(Debug, Clone)]
pub(super) enum Value {
    Null,
    Bool(bool),
    Number(f64),
    Text(Traced),
    /// Shared: a reference to a local or a variable passes its value on without a copy (a
    /// `for_each` of 65,000 entries, each reading the map it came from, copied it each time).
    List(Rc<Vec<Value>>),
    Map(Rc<Entries>),
    Ref(Rc<Reference>),
    Unknown(Rc<Unknown>),
}

/// The entries of a map in their order, with an index by key made at the first lookup: a
/// `for_each` over a large map whose instances each look themselves up in it stays linear.
#[derive(Debug, Clone)]
pub(super) struct Entries {
    list: Vec<(String, Value)>,
    index: OnceCell<HashMap<String, usize>>,
}

impl Entries {
    /// The value of the first entry with `key`.
    fn get(&self, key: &str) -> Option<&Value> {
        let index = self.index.get_or_init(|| {
            let mut index = HashMap::with_capacity(self.list.len());
            for (at, (key, _)) in self.list.iter().enumerate() {
                index.entry(key.clone()).or_insert(at);
            }
            index
        });
        index.get(key).map(|&at| &self.list[at].1)
    }
}

impl std::ops::Deref for Entries {
    type Target = [(String, Value)];

    fn deref(&self) -> &Self::Target {
        &self.list
    }
}

impl Value {
    fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    fn map(entries: Vec<(String, Value)>) -> Value {
        Value::Map(Rc::new(Entries { list: entries, index: OnceCell::new() }))
    }

    /// Bytes of text and items of lists and maps, all the way down.
    fn size(&self) -> usize {
        match self {
            Value::Text(text) => text.text().len(),
            Value::List(items) => items.iter().fold(1, |size, item| size.saturating_add(item.size())),
            Value::Map(entries) => {
                entries.iter().fold(1, |size, (key, value)| size.saturating_add(key.len()).saturating_add(value.size()))
            }
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::Ref(_) | Value::Unknown(_) => 1,
        }
    }

    /// The text of a string that holds no unresolved part.
    fn known_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) if t.opaque().next().is_none() => Some(t.text()),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.get(key),
            _ => None,
        }
    }

    /// The value as a key of a map or an instance (`each.key`).
    fn key_text(&self) -> Option<String> {
        match self {
            Value::Number(n) => Some(number_text(*n)),
            Value::Bool(b) => Some(b.to_string()),
            other => other.known_text().map(str::to_string),
        }
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() }
}

/// The `.tf` files of one directory.
struct Module {
    dir: PathBuf,
    files: Vec<(FileId, Body, bool)>,
}

impl Module {
    fn blocks(&self) -> impl Iterator<Item = (FileId, bool, &Block)> {
        self.files.iter().flat_map(|(file, body, patched)| body.blocks().map(move |b| (*file, *patched, b)))
    }

    fn block(&self, ident: &str, labels: &[&str]) -> Option<(FileId, bool, &Block)> {
        self.blocks().find(|(_, _, b)| {
            b.ident.as_str() == ident
                && b.labels.len() == labels.len()
                && b.labels.iter().zip(labels).all(|(l, want)| l.as_str() == *want)
        })
    }

    fn has_resource(&self, kind: &str, name: &str) -> bool {
        self.block("resource", &[kind, name]).is_some()
    }
}

/// One instance of a module: the root, or a `module` block (per `for_each` key).
struct Instance {
    module: Rc<Module>,
    /// Prefix of the keys of its resources: `` for the root, `iam.` for `module "iam"`.
    prefix: String,
    vars: HashMap<String, Value>,
    locals: RefCell<HashMap<String, Option<Value>>>,
    children: RefCell<HashMap<String, Rc<Instance>>>,
    depth: usize,
}

/// Where an expression is evaluated: its instance and file, `each`/`count`, and the
/// variables of enclosing `for` expressions.
#[derive(Clone)]
struct Scope {
    instance: Rc<Instance>,
    file: FileId,
    patched: bool,
    each: Option<(Value, Value)>,
    count: Option<usize>,
    bound: Vec<(String, Value)>,
}

/// An attribute evaluated, with where its expression is written.
struct Attribute {
    name: String,
    value: Value,
    file: FileId,
    span: Range<usize>,
}

/// One instance of a block: `each.key`/`each.value` (or none), and its key (a `for_each` key
/// or a `count` index).
struct Instantiation {
    each: Option<(Value, Value)>,
    key: Option<String>,
}

/// One instance of a resource or data block, its attributes evaluated.
struct Resource {
    kind: String,
    key: String,
    /// `dynatrace_iam_policy.admin["k"]`, with its module path.
    address: String,
    file: FileId,
    span: Range<usize>,
    attributes: Vec<Attribute>,
    /// Nested blocks (`policy { … }` of bindings), each with its attributes; a `dynamic`
    /// block as the blocks it makes.
    blocks: Vec<(String, Vec<Attribute>)>,
    /// The `dynamic` blocks whose `for_each` warden cannot resolve: the blocks' name and the
    /// `for_each`'s value, where it is written.
    unexpanded: Vec<Attribute>,
    /// The keys of object literals in its attributes, where they are written (a binding's
    /// parameter names).
    object_keys: Vec<(String, FileId, Range<usize>)>,
}

impl Resource {
    fn attribute(&self, name: &str) -> Option<(&Value, FileId, Range<usize>)> {
        self.attributes.iter().find(|a| a.name == name).map(|a| (&a.value, a.file, a.span.clone()))
    }
}

/// How deep child modules may nest: deeper is surely a cycle.
const MAX_DEPTH: usize = 16;

/// A bound of one evaluation that no real configuration comes near, and hostile ones cross in
/// a few lines: past it, what remains is not evaluated (and not checked), and one finding says
/// which bound was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Expressions and the references they follow, one inside the other: a chain of 5,000
    /// locals ran the stack out.
    Nesting,
    /// Bytes of text and items of lists and maps made: forty locals that each double the one
    /// before make 2^40 copies.
    Values,
    /// Child module instances: a module that calls itself with `count = 4` makes 4^16 within
    /// [`MAX_DEPTH`].
    Instances,
    /// Instances made by `count` and blocks by `dynamic`: `count = 1000000000` asked for
    /// 120 GB at once.
    Copies,
}

impl Bound {
    const fn limit(self) -> usize {
        match self {
            Bound::Nesting => 128,
            Bound::Values => 64 << 20,
            Bound::Instances => 1000,
            Bound::Copies => 100_000,
        }
    }

    fn reached(self) -> String {
        match self {
            Bound::Nesting => format!("references nested deeper than {}", self.limit()),
            Bound::Values => format!("more than {} MiB of values", self.limit() >> 20),
            Bound::Instances => format!("more than {} module instances", self.limit()),
            Bound::Copies => format!("more than {} resource instances and dynamic blocks", self.limit()),
        }
    }

    const fn help(self) -> &'static str {
        match self {
            Bound::Nesting | Bound::Values => {
                "do locals refer to one another without end? Terraform would not finish either"
            }
            Bound::Instances => "does a module call itself? Terraform refuses such a configuration",
            Bound::Copies => "no account holds that many policies, bindings or users",
        }
    }
}

struct Evaluator<'s> {
    sources: &'s mut Sources,
    /// The heredocs hcl-edit was given stand-ins for, by file and start.
    heredocs: HashMap<FileId, Vec<hcl::LiteralHeredoc>>,
    modules: HashMap<PathBuf, Rc<Module>>,
    findings: Vec<(FileId, Diagnostic)>,
    resources: Vec<Resource>,
    /// Child module directories instantiated.
    children: Vec<PathBuf>,
    /// Child module instances made ([`Bound::Instances`]).
    instances_made: usize,
    /// Expressions being evaluated, one inside the other ([`Bound::Nesting`]).
    nesting: usize,
    /// The size of every value made so far, not counting what references pass on
    /// ([`Bound::Values`]).
    values_made: usize,
    /// Instances made by `count` and blocks made by `dynamic` ([`Bound::Copies`]).
    copies_made: usize,
    /// The bounds reached, each told once.
    reached: Vec<Bound>,
}

impl<'s> Evaluator<'s> {
    fn new(sources: &'s mut Sources) -> Evaluator<'s> {
        Evaluator {
            sources,
            heredocs: HashMap::new(),
            modules: HashMap::new(),
            findings: Vec::new(),
            resources: Vec::new(),
            children: Vec::new(),
            instances_made: 0,
            nesting: 0,
            values_made: 0,
            copies_made: 0,
            reached: Vec::new(),
        }
    }

    /// The `.tf` files of `dir`, parsed once.
    fn module(&mut self, dir: &Path) -> Result<Rc<Module>, super::ReadError> {
        if let Some(module) = self.modules.get(dir) {
            return Ok(Rc::clone(module));
        }
        let mut files = Vec::new();
        let listed = self.sources.walk(dir);
        let mut paths: Vec<&PathBuf> = listed
            .files
            .iter()
            .filter(|p| p.parent() == Some(dir) && super::Format::from_path(p) == Some(super::Format::Terraform))
            .collect();
        if paths.is_empty() && !listed.failed.is_empty() {
            return Err(listed.failed.into_iter().next().expect("checked").1.into());
        }
        paths.sort();
        for path in paths {
            let id = self.sources.load(path)?;
            let parsed = hcl::parse(self.sources, id);
            self.findings.extend(parsed.findings);
            self.heredocs.insert(id, parsed.heredocs);
            if let Some(body) = parsed.body {
                files.push((id, body, parsed.patched));
            }
        }
        let module = Rc::new(Module { dir: dir.to_path_buf(), files });
        self.modules.insert(dir.to_path_buf(), Rc::clone(&module));
        Ok(module)
    }

    /// A module of standard input (one file, no directory around it).
    fn single_file(&mut self, file: FileId) -> Rc<Module> {
        let parsed = hcl::parse(self.sources, file);
        self.findings.extend(parsed.findings);
        self.heredocs.insert(file, parsed.heredocs);
        let dir = self.sources.path(file).and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
        Rc::new(Module { dir, files: parsed.body.map(|b| vec![(file, b, parsed.patched)]).unwrap_or_default() })
    }

    fn unknown(&self, file: FileId, span: Range<usize>, supply: impl Into<String>) -> Value {
        let what = self.sources.file(file).text.get(span.clone()).unwrap_or("").trim().to_string();
        Value::Unknown(Rc::new(Unknown { file, span, what, supply: supply.into() }))
    }

    /// The root instance of a module: variables from defaults, `TF_VAR_…`, `terraform.tfvars`,
    /// `*.auto.tfvars`, then `--var-file` and `--var` in order, as Terraform takes them.
    fn root(&mut self, module: Rc<Module>, variables: &Variables) -> Result<Rc<Instance>, super::ReadError> {
        let declared: Vec<(&Block, FileId, bool)> = module
            .blocks()
            .filter(|(_, _, b)| b.ident.as_str() == "variable" && !b.labels.is_empty())
            .map(|(f, p, b)| (b, f, p))
            .collect();
        let empty = Rc::new(Instance {
            module: Rc::clone(&module),
            prefix: String::new(),
            vars: HashMap::new(),
            locals: RefCell::default(),
            children: RefCell::default(),
            depth: 0,
        });
        let mut vars: HashMap<String, Value> = HashMap::new();
        for (block, file, patched) in declared {
            let name = block.labels[0].as_str().to_string();
            let value = match block.body.get_attribute("default") {
                Some(default) => {
                    let scope = Scope {
                        instance: Rc::clone(&empty),
                        file,
                        patched,
                        each: None,
                        count: None,
                        bound: Vec::new(),
                    };
                    self.eval(&default.value, &scope)
                }
                None => self.unknown(
                    file,
                    block.labels[0].span().unwrap_or(0..0),
                    format!(
                        "give `var.{name}` a value: `--var {name}=…`, a `.tfvars` file (`--var-file`), or a default"
                    ),
                ),
            };
            vars.insert(name, value);
        }
        for (key, value) in std::env::vars() {
            if let Some(name) = key.strip_prefix("TF_VAR_") {
                if vars.contains_key(name) {
                    let id = self.sources.add(None, format!("TF_VAR_{name}"), value);
                    vars.insert(name.to_string(), self.command_line_value(id));
                }
            }
        }
        let mut tfvars: Vec<PathBuf> = Vec::new();
        let auto = module.dir.join("terraform.tfvars");
        if auto.is_file() {
            tfvars.push(auto);
        }
        let mut autos: Vec<PathBuf> = self
            .sources
            .walk(&module.dir)
            .files
            .into_iter()
            .filter(|p| p.parent() == Some(module.dir.as_path()) && p.to_string_lossy().ends_with(".auto.tfvars"))
            .collect();
        autos.sort();
        tfvars.extend(autos);
        tfvars.extend(variables.files.iter().cloned());
        for path in tfvars {
            let id = self.sources.load(&path)?;
            let parsed = hcl::parse(self.sources, id);
            self.findings.extend(parsed.findings);
            self.heredocs.insert(id, parsed.heredocs);
            let Some(body) = parsed.body else { continue };
            for attribute in body.attributes() {
                if vars.contains_key(attribute.key.as_str()) {
                    let scope = Scope {
                        instance: Rc::clone(&empty),
                        file: id,
                        patched: parsed.patched,
                        each: None,
                        count: None,
                        bound: Vec::new(),
                    };
                    let value = self.eval(&attribute.value, &scope);
                    vars.insert(attribute.key.as_str().to_string(), value);
                }
            }
        }
        for (name, value) in &variables.values {
            let id = self.sources.add(None, format!("--var {name}"), value.clone());
            vars.insert(name.clone(), self.command_line_value(id));
        }
        Ok(Rc::new(Instance {
            module,
            prefix: String::new(),
            vars,
            locals: RefCell::default(),
            children: RefCell::default(),
            depth: 0,
        }))
    }

    /// A value given on the command line: a list or map in HCL syntax, else a string.
    fn command_line_value(&mut self, id: FileId) -> Value {
        let text = self.sources.text(id);
        if let Ok(expr) = hcl_edit::parser::parse_expr(&text) {
            if matches!(expr, Expression::Array(_) | Expression::Object(_)) {
                let module = Rc::new(Module { dir: PathBuf::new(), files: Vec::new() });
                let instance = Rc::new(Instance {
                    module,
                    prefix: String::new(),
                    vars: HashMap::new(),
                    locals: RefCell::default(),
                    children: RefCell::default(),
                    depth: 0,
                });
                return self.eval(
                    &expr,
                    &Scope { instance, file: id, patched: false, each: None, count: None, bound: Vec::new() },
                );
            }
        }
        Value::Text(Traced::verbatim(&text, id, 0, Form::Interpolated))
    }

    /// Evaluates an expression within [`Bound::Nesting`] and [`Bound::Values`].
    fn eval(&mut self, expr: &Expression, scope: &Scope) -> Value {
        let span = || expr.span().unwrap_or(0..0);
        if self.nesting == Bound::Nesting.limit() {
            self.reach(Bound::Nesting, scope.file, span(), "this expression");
            return self.unknown(scope.file, span(), Bound::Nesting.reached());
        }
        self.nesting += 1;
        let value = self.eval_unbounded(expr, scope);
        self.nesting -= 1;
        // What a reference or a choice passes on was counted where it was made.
        let passed_on = matches!(
            expr,
            Expression::Traversal(_)
                | Expression::Variable(_)
                | Expression::Parenthesis(_)
                | Expression::Conditional(_)
        );
        if !passed_on {
            self.values_made = self.values_made.saturating_add(value.size());
        }
        if self.values_made > Bound::Values.limit() {
            self.reach(Bound::Values, scope.file, span(), "this expression");
            return self.unknown(scope.file, span(), Bound::Values.reached());
        }
        value
    }

    /// Says once that `bound` was reached at `span`, so `what` and the rest were not evaluated.
    fn reach(&mut self, bound: Bound, file: FileId, span: Range<usize>, what: &str) {
        if self.reached.contains(&bound) {
            return;
        }
        self.reached.push(bound);
        let message = format!("{what} was not evaluated: the configuration makes {}", bound.reached());
        self.findings.push((file, Diagnostic::new(&rules::NOT_CHECKED, span, message).with_help(bound.help())));
    }

    fn eval_unbounded(&mut self, expr: &Expression, scope: &Scope) -> Value {
        let span = expr.span().unwrap_or(0..0);
        match expr {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => n
                .value()
                .as_f64()
                .map_or_else(|| self.unknown(scope.file, span, "a number warden cannot read"), Value::Number),
            Expression::String(s) => {
                let host = self.sources.text(scope.file);
                let inner = span.start + 1..span.end.saturating_sub(1).max(span.start + 1);
                Value::Text(hcl::literal(&host, scope.file, scope.patched, inner, s.value(), Form::HclQuoted, true))
            }
            Expression::StringTemplate(t) => Value::Text(self.template(t.iter(), Form::HclQuoted, scope)),
            Expression::HeredocTemplate(h) => {
                let form = Form::HclHeredoc { indent: h.indent().unwrap_or(0) };
                Value::Text(self.template(h.template.iter(), form, scope))
            }
            Expression::Parenthesis(p) => match self.literal_heredoc(scope.file, span.start) {
                Some(text) => Value::Text(text),
                None => self.eval(p.inner(), scope),
            },
            Expression::Array(array) => Value::list(array.iter().map(|e| self.eval(e, scope)).collect()),
            Expression::Object(object) => {
                let mut entries = Vec::new();
                for (key, value) in object.iter() {
                    let key = match key {
                        ObjectKey::Ident(ident) => Some(ident.as_str().to_string()),
                        ObjectKey::Expression(e) => self.eval(e, scope).key_text(),
                    };
                    let value = self.eval(value.expr(), scope);
                    match key {
                        Some(key) => entries.push((key, value)),
                        None => return self.unknown(scope.file, span, "an object key warden cannot work out"),
                    }
                }
                Value::map(entries)
            }
            Expression::Variable(name) => match scope.bound.iter().rev().find(|(n, _)| n == name.as_str()) {
                Some((_, value)) => value.clone(),
                None => self.unknown(scope.file, span, "a name warden does not know here"),
            },
            Expression::Traversal(traversal) => self.traversal(&traversal.expr, &traversal.operators, span, scope),
            Expression::FuncCall(call) => {
                let args: Vec<&Expression> = call.args.iter().collect();
                self.call(call.name.name.as_str(), &args, span, scope)
            }
            Expression::Conditional(c) => match self.eval(&c.cond_expr, scope) {
                Value::Bool(true) => self.eval(&c.true_expr, scope),
                Value::Bool(false) => self.eval(&c.false_expr, scope),
                _ => self.unknown(scope.file, span, "a condition warden cannot decide: give the values it depends on"),
            },
            Expression::UnaryOp(op) => match (op.operator.value(), self.eval(&op.expr, scope)) {
                (UnaryOperator::Not, Value::Bool(b)) => Value::Bool(!b),
                (UnaryOperator::Neg, Value::Number(n)) => Value::Number(-n),
                _ => self.unknown(scope.file, span, "an operation warden cannot work out"),
            },
            Expression::BinaryOp(op) => {
                let (lhs, rhs) = (self.eval(&op.lhs_expr, scope), self.eval(&op.rhs_expr, scope));
                let text = |v: &Value| v.key_text();
                match (op.operator.value(), &lhs, &rhs) {
                    (BinaryOperator::And, Value::Bool(a), Value::Bool(b)) => Value::Bool(*a && *b),
                    (BinaryOperator::Or, Value::Bool(a), Value::Bool(b)) => Value::Bool(*a || *b),
                    (BinaryOperator::Eq | BinaryOperator::NotEq, _, _)
                        if text(&lhs).is_some() && text(&rhs).is_some() =>
                    {
                        Value::Bool((text(&lhs) == text(&rhs)) == (*op.operator.value() == BinaryOperator::Eq))
                    }
                    (BinaryOperator::Eq | BinaryOperator::NotEq, Value::Null, _)
                    | (BinaryOperator::Eq | BinaryOperator::NotEq, _, Value::Null) => {
                        let same = matches!((&lhs, &rhs), (Value::Null, Value::Null));
                        Value::Bool(same == (*op.operator.value() == BinaryOperator::Eq))
                    }
                    (BinaryOperator::Plus, Value::Number(a), Value::Number(b)) => Value::Number(a + b),
                    (BinaryOperator::Minus, Value::Number(a), Value::Number(b)) => Value::Number(a - b),
                    _ => self.unknown(scope.file, span, "an operation warden cannot work out"),
                }
            }
            Expression::ForExpr(f) => {
                let collection = self.eval(&f.intro.collection_expr, scope);
                let items: Vec<(Value, Value)> = match collection {
                    Value::List(items) => {
                        items.iter().cloned().enumerate().map(|(i, v)| (Value::Number(i as f64), v)).collect()
                    }
                    Value::Map(entries) => {
                        let at = f.intro.collection_expr.span().unwrap_or(0..0);
                        entries
                            .iter()
                            .map(|(k, v)| (Value::Text(plain(k, scope.file, at.clone())), v.clone()))
                            .collect()
                    }
                    unknown @ Value::Unknown(_) => return unknown,
                    _ => return self.unknown(scope.file, span, "a `for` over something that is no list or map"),
                };
                let mut list = Vec::new();
                let mut map: Vec<(String, Value)> = Vec::new();
                // Where each key of `map` is: `for` expressions may make large maps.
                let mut places: HashMap<String, usize> = HashMap::new();
                for (key, value) in items {
                    let mut inner = scope.clone();
                    if let Some(key_var) = &f.intro.key_var {
                        inner.bound.push((key_var.as_str().to_string(), key));
                    }
                    inner.bound.push((f.intro.value_var.as_str().to_string(), value));
                    if let Some(cond) = &f.cond {
                        match self.eval(&cond.expr, &inner) {
                            Value::Bool(true) => {}
                            Value::Bool(false) => continue,
                            _ => return self.unknown(scope.file, span, "a `for` filter warden cannot decide"),
                        }
                    }
                    let value = self.eval(&f.value_expr, &inner);
                    match &f.key_expr {
                        None => list.push(value),
                        Some(key_expr) => {
                            let Some(key) = self.eval(key_expr, &inner).key_text() else {
                                return self.unknown(scope.file, span, "a `for` key warden cannot work out");
                            };
                            match places.get(&key).map(|&at| &mut map[at]) {
                                Some((_, Value::List(group))) if f.grouping => Rc::make_mut(group).push(value),
                                Some(entry) => entry.1 = value,
                                None => {
                                    places.insert(key.clone(), map.len());
                                    map.push((key, if f.grouping { Value::list(vec![value]) } else { value }));
                                }
                            }
                        }
                    }
                }
                if f.key_expr.is_some() { Value::map(map) } else { Value::list(list) }
            }
        }
    }

    /// The text of a literal heredoc that hcl-edit saw as `(null …)` at `start`.
    fn literal_heredoc(&self, file: FileId, start: usize) -> Option<Traced> {
        let heredoc = self.heredocs.get(&file)?.iter().find(|h| h.start == start)?;
        let host = self.sources.text(file);
        let indent = heredoc.indent(&host);
        let form = Form::HclHeredoc { indent };
        Some(super::decode::heredoc(&host, heredoc.body.clone(), file, indent, true, form))
    }

    /// A quoted template or heredoc: literals decoded, interpolations evaluated (unresolved
    /// ones opaque).
    fn template<'e>(&mut self, elements: impl Iterator<Item = &'e Element>, form: Form, scope: &Scope) -> Traced {
        let elements: Vec<&Element> = elements.collect();
        let host = self.sources.text(scope.file);
        let mut out = Traced::new();
        for (i, element) in elements.iter().enumerate() {
            let span = element.span().unwrap_or(0..0);
            match element {
                Element::Literal(literal) => {
                    let at_line_start = out.is_empty() || out.text().ends_with('\n');
                    out.append(&hcl::literal(
                        &host,
                        scope.file,
                        scope.patched,
                        span,
                        literal.value(),
                        form,
                        at_line_start,
                    ));
                }
                Element::Interpolation(interpolation) => match self.eval(&interpolation.expr, scope) {
                    Value::Text(text) => out.append(&text),
                    value @ (Value::Number(_) | Value::Bool(_)) => {
                        out.push_escaped(&value.key_text().unwrap_or_default(), scope.file, span, Form::Interpolated)
                    }
                    _ => {
                        let next = elements.get(i + 1).and_then(|e| match e {
                            Element::Literal(l) => Some(l.value().as_str()),
                            _ => None,
                        });
                        out.push_opaque(hcl::filler(out.text(), next), scope.file, span.clone(), &host[span]);
                    }
                },
                Element::Directive(_) => {
                    let next = elements.get(i + 1).and_then(|e| e.span()).map(|s| &host[s]);
                    out.push_opaque(hcl::filler(out.text(), next), scope.file, span.clone(), &host[span]);
                }
            }
        }
        out
    }

    /// `var.x`, `local.x`, `each.value.x`, `module.m.out`, `data.t.n.attr`, `type.name[k].id` and
    /// the attribute and index operations after them.
    fn traversal(
        &mut self,
        root: &Expression,
        operators: &[hcl_edit::Decorated<TraversalOperator>],
        span: Range<usize>,
        scope: &Scope,
    ) -> Value {
        let attr = |i: usize| match operators.get(i).map(|o| o.value()) {
            Some(TraversalOperator::GetAttr(name)) => Some(name.as_str().to_string()),
            _ => None,
        };
        let Expression::Variable(name) = root else {
            let value = self.eval(root, scope);
            return self.apply(value, operators, span, scope);
        };
        let (value, used) = match (name.as_str(), attr(0)) {
            (bound, _) if scope.bound.iter().any(|(n, _)| n == bound) => (self.eval(root, scope), 0),
            ("var", Some(var)) => (
                scope.instance.vars.get(&var).cloned().unwrap_or_else(|| {
                    self.unknown(scope.file, span.clone(), format!("declare `variable \"{var}\"` in the module"))
                }),
                1,
            ),
            ("local", Some(local)) => (self.local(&local, span.clone(), scope), 1),
            ("each", Some(part)) => match (&scope.each, part.as_str()) {
                (Some((key, _)), "key") => (key.clone(), 1),
                (Some((_, value)), "value") => (value.clone(), 1),
                _ => (self.unknown(scope.file, span.clone(), "`each` outside a `for_each`"), operators.len()),
            },
            ("count", Some(_)) => match scope.count {
                Some(index) => (Value::Number(index as f64), 1),
                None => (self.unknown(scope.file, span.clone(), "`count` outside a counted resource"), operators.len()),
            },
            ("path", Some(_)) => {
                let dir = scope.instance.module.dir.display().to_string();
                let dir = if dir.is_empty() { ".".to_string() } else { dir };
                let mut text = Traced::new();
                text.push_escaped(&dir, scope.file, span.clone(), Form::Interpolated);
                (Value::Text(text), 1)
            }
            ("module", Some(module)) => self.module_output(&module, operators, span.clone(), scope),
            ("data", Some(kind)) => match (attr(1), operators.get(2).map(|o| o.value())) {
                (Some(name), _) => {
                    let (key, used) = self.instance_key(&name, operators, 2, scope);
                    let key = format!("{}{key}", scope.instance.prefix);
                    (
                        Value::Ref(Rc::new(Reference {
                            kind: format!("data.{kind}"),
                            key,
                            file: scope.file,
                            span: span.clone(),
                        })),
                        used,
                    )
                }
                _ => (self.unknown(scope.file, span.clone(), "a data source warden cannot read"), operators.len()),
            },
            (kind, Some(name)) if scope.instance.module.has_resource(kind, &name) => {
                let (key, used) = self.instance_key(&name, operators, 1, scope);
                let key = format!("{}{key}", scope.instance.prefix);
                (
                    Value::Ref(Rc::new(Reference {
                        kind: kind.to_string(),
                        key,
                        file: scope.file,
                        span: span.clone(),
                    })),
                    used,
                )
            }
            _ => (self.unknown(scope.file, span.clone(), "a reference warden cannot resolve"), operators.len()),
        };
        self.apply(value, &operators[used.min(operators.len())..], span, scope)
    }

    /// The key of a resource instance: `name`, or `name.key` when an index follows it.
    fn instance_key(
        &mut self,
        name: &str,
        operators: &[hcl_edit::Decorated<TraversalOperator>],
        at: usize,
        scope: &Scope,
    ) -> (String, usize) {
        match operators.get(at).map(|o| o.value()) {
            Some(TraversalOperator::Index(index)) => match self.eval(index, scope).key_text() {
                Some(key) => (format!("{name}.{key}"), at + 1),
                None => (format!("{name}.?"), at + 1),
            },
            Some(TraversalOperator::LegacyIndex(index)) => (format!("{name}.{}", index.value()), at + 1),
            _ => (name.to_string(), at),
        }
    }

    /// Attribute and index operations on a value; a reference keeps only its address.
    fn apply(
        &mut self,
        mut value: Value,
        operators: &[hcl_edit::Decorated<TraversalOperator>],
        span: Range<usize>,
        scope: &Scope,
    ) -> Value {
        for operator in operators {
            value = match (value, operator.value()) {
                (Value::Ref(reference), _) => Value::Ref(reference),
                (unknown @ Value::Unknown(_), _) => unknown,
                (Value::Map(entries), TraversalOperator::GetAttr(name)) => match entries.get(name.as_str()) {
                    Some(v) => v.clone(),
                    None => return self.unknown(scope.file, span, format!("no `{}` in this object", name.as_str())),
                },
                (Value::Map(entries), TraversalOperator::Index(index)) => {
                    let key = self.eval(index, scope).key_text();
                    match key.and_then(|key| entries.get(&key)) {
                        Some(v) => v.clone(),
                        None => return self.unknown(scope.file, span, "a key warden cannot find"),
                    }
                }
                (Value::List(items), TraversalOperator::Index(index)) => match self.eval(index, scope) {
                    Value::Number(n) if n >= 0.0 && (n as usize) < items.len() => items[n as usize].clone(),
                    _ => return self.unknown(scope.file, span, "an index warden cannot work out"),
                },
                (Value::List(items), TraversalOperator::LegacyIndex(index)) => match items.get(*index.value() as usize)
                {
                    Some(v) => v.clone(),
                    None => return self.unknown(scope.file, span, "an index past the end"),
                },
                _ => return self.unknown(scope.file, span, "an attribute or index warden cannot work out"),
            };
        }
        value
    }

    fn local(&mut self, name: &str, span: Range<usize>, scope: &Scope) -> Value {
        if let Some(known) = scope.instance.locals.borrow().get(name) {
            return known
                .clone()
                .unwrap_or_else(|| self.unknown(scope.file, span.clone(), "a local that refers to itself"));
        }
        let module = Rc::clone(&scope.instance.module);
        let found = module
            .blocks()
            .filter(|(_, _, b)| b.ident.as_str() == "locals")
            .find_map(|(file, patched, b)| b.body.get_attribute(name).map(|a| (file, patched, a.value.clone())));
        let Some((file, patched, expr)) = found else {
            return self.unknown(scope.file, span, format!("define `{name}` in a `locals` block"));
        };
        scope.instance.locals.borrow_mut().insert(name.to_string(), None);
        let inner =
            Scope { instance: Rc::clone(&scope.instance), file, patched, each: None, count: None, bound: Vec::new() };
        let value = self.eval(&expr, &inner);
        scope.instance.locals.borrow_mut().insert(name.to_string(), Some(value.clone()));
        value
    }

    /// `module.NAME.OUTPUT` (or `module.NAME[key].OUTPUT`): the output of a local child module.
    fn module_output(
        &mut self,
        name: &str,
        operators: &[hcl_edit::Decorated<TraversalOperator>],
        span: Range<usize>,
        scope: &Scope,
    ) -> (Value, usize) {
        let (key, at) = match operators.get(1).map(|o| o.value()) {
            Some(TraversalOperator::Index(index)) => (self.eval(index, scope).key_text(), 2),
            _ => (None, 1),
        };
        let Some(TraversalOperator::GetAttr(output)) = operators.get(at).map(|o| o.value()) else {
            return (self.unknown(scope.file, span, "a module referred to as a whole"), operators.len());
        };
        let children = self.children_of(&scope.instance);
        let instance_name = match &key {
            Some(key) => format!("{name}.{key}"),
            None => name.to_string(),
        };
        let Some(child) = children.iter().find(|(n, _)| *n == instance_name).map(|(_, c)| Rc::clone(c)) else {
            return (
                self.unknown(
                    scope.file,
                    span,
                    format!("module `{name}` is not a local module warden can read (`source = \"./…\"`)"),
                ),
                operators.len(),
            );
        };
        let module = Rc::clone(&child.module);
        let found = module
            .block("output", &[output.as_str()])
            .and_then(|(file, patched, b)| b.body.get_attribute("value").map(|a| (file, patched, a.value.clone())));
        let Some((file, patched, expr)) = found else {
            return (
                self.unknown(scope.file, span, format!("module `{name}` has no output `{}`", output.as_str())),
                operators.len(),
            );
        };
        let inner = Scope { instance: child, file, patched, each: None, count: None, bound: Vec::new() };
        (self.eval(&expr, &inner), at + 1)
    }

    /// The child module instances of an instance, made once: `name`, or `name.key` per
    /// `for_each` key.
    fn children_of(&mut self, instance: &Rc<Instance>) -> Vec<(String, Rc<Instance>)> {
        if !instance.children.borrow().is_empty() || instance.depth >= MAX_DEPTH {
            return instance.children.borrow().iter().map(|(k, v)| (k.clone(), Rc::clone(v))).collect();
        }
        let module = Rc::clone(&instance.module);
        let mut made = Vec::new();
        for (file, patched, block) in module.blocks().filter(|(_, _, b)| b.ident.as_str() == "module") {
            let Some(name) = block.labels.first().map(|l| l.as_str().to_string()) else { continue };
            let scope =
                Scope { instance: Rc::clone(instance), file, patched, each: None, count: None, bound: Vec::new() };
            let source = block.body.get_attribute("source").map(|a| self.eval(&a.value, &scope));
            let Some(source) =
                source.as_ref().and_then(Value::known_text).filter(|s| s.starts_with("./") || s.starts_with("../"))
            else {
                continue;
            };
            let dir = super::reader::normalize(&module.dir.join(source));
            let child_module = match self.module(&dir) {
                Ok(child_module) => child_module,
                Err(error) => {
                    let at = block.body.get_attribute("source").and_then(|a| a.span()).unwrap_or(0..0);
                    let message = format!("cannot read the module `{source}`: {error}");
                    self.findings.push((file, Diagnostic::new(&rules::UNREADABLE_REFERENCE, at, message)));
                    continue;
                }
            };
            if !self.children.contains(&dir) {
                self.children.push(dir);
            }
            for Instantiation { each, key } in self.instances(block, &scope) {
                if self.instances_made == Bound::Instances.limit() {
                    self.reach(Bound::Instances, file, block.span().unwrap_or(0..0), &format!("module `{name}`"));
                    break;
                }
                self.instances_made += 1;
                let inner = Scope { each: each.clone(), ..scope.clone() };
                let mut vars = HashMap::new();
                for attribute in block.body.attributes() {
                    let key = attribute.key.as_str();
                    if !matches!(key, "source" | "for_each" | "count" | "version" | "providers" | "depends_on") {
                        vars.insert(key.to_string(), self.eval(&attribute.value, &inner));
                    }
                }
                // Defaults of the child's variables not given.
                let empty = Rc::new(Instance {
                    module: Rc::clone(&child_module),
                    prefix: String::new(),
                    vars: HashMap::new(),
                    locals: RefCell::default(),
                    children: RefCell::default(),
                    depth: instance.depth + 1,
                });
                for (vfile, vpatched, var) in child_module.blocks().filter(|(_, _, b)| b.ident.as_str() == "variable") {
                    let Some(var_name) = var.labels.first().map(|l| l.as_str().to_string()) else { continue };
                    if vars.contains_key(&var_name) {
                        continue;
                    }
                    let value = match var.body.get_attribute("default") {
                        Some(default) => self.eval(
                            &default.value,
                            &Scope {
                                instance: Rc::clone(&empty),
                                file: vfile,
                                patched: vpatched,
                                each: None,
                                count: None,
                                bound: Vec::new(),
                            },
                        ),
                        None => self.unknown(
                            vfile,
                            var.labels[0].span().unwrap_or(0..0),
                            format!("module `{name}` gives no `{var_name}`"),
                        ),
                    };
                    vars.insert(var_name, value);
                }
                let instance_name = match &key {
                    Some(key) => format!("{name}.{key}"),
                    None => name.clone(),
                };
                let child = Rc::new(Instance {
                    module: Rc::clone(&child_module),
                    prefix: format!("{}{instance_name}.", instance.prefix),
                    vars,
                    locals: RefCell::default(),
                    children: RefCell::default(),
                    depth: instance.depth + 1,
                });
                made.push((instance_name, child));
            }
        }
        instance.children.borrow_mut().extend(made.iter().map(|(k, v)| (k.clone(), Rc::clone(v))));
        made
    }

    /// The instances of a resource or module block: `each` (key, value) per `for_each` entry,
    /// `count` indexes, or one; with the instance key.
    fn instances(&mut self, block: &Block, scope: &Scope) -> Vec<Instantiation> {
        if let Some(for_each) = block.body.get_attribute("for_each") {
            let at = for_each.value.span().unwrap_or(0..0);
            return match self.eval(&for_each.value, scope) {
                Value::Map(entries) => entries
                    .iter()
                    .map(|(k, v)| Instantiation {
                        each: Some((Value::Text(plain(k, scope.file, at.clone())), v.clone())),
                        key: Some(k.clone()),
                    })
                    .collect(),
                Value::List(items) => items
                    .iter()
                    .cloned()
                    .filter_map(|v| v.key_text().map(|k| Instantiation { each: Some((v.clone(), v)), key: Some(k) }))
                    .collect(),
                _ => Vec::new(),
            };
        }
        if let Some(count) = block.body.get_attribute("count") {
            if let Value::Number(n) = self.eval(&count.value, scope) {
                let copies = n.max(0.0) as usize;
                if !self.copies(copies, scope.file, count.span().unwrap_or(0..0), "`count`") {
                    return Vec::new();
                }
                return (0..copies).map(|i| Instantiation { each: None, key: Some(i.to_string()) }).collect();
            }
            return Vec::new();
        }
        vec![Instantiation { each: None, key: None }]
    }

    /// Counts `copies` more instances or blocks; `false` (said once) past [`Bound::Copies`].
    fn copies(&mut self, copies: usize, file: FileId, span: Range<usize>, what: &str) -> bool {
        if copies > Bound::Copies.limit() - self.copies_made {
            self.reach(Bound::Copies, file, span, what);
            return false;
        }
        self.copies_made += copies;
        true
    }

    /// A function call: the ones policies and their data are built with.
    fn call(&mut self, name: &str, args: &[&Expression], span: Range<usize>, scope: &Scope) -> Value {
        match (name, args) {
            ("file", [path]) => self.read_file(path, span, scope, None),
            ("templatefile", [path, vars]) => {
                let vars = self.eval(vars, scope);
                self.read_file(path, span, scope, Some(vars))
            }
            ("yamldecode" | "jsondecode", [arg]) => {
                let value = self.eval(arg, scope);
                self.decode(name, value, span, scope)
            }
            ("tomap" | "toset" | "tolist" | "tostring" | "nonsensitive" | "sensitive", [arg]) => self.eval(arg, scope),
            ("trimspace" | "chomp" | "lower" | "upper", [arg]) => match self.eval(arg, scope) {
                Value::Text(text) => Value::Text(transform(name, &text)),
                other => other,
            },
            ("concat", _) => {
                let mut all = Vec::new();
                for arg in args {
                    match self.eval(arg, scope) {
                        Value::List(items) => all.extend(items.iter().cloned()),
                        unknown @ Value::Unknown(_) => return unknown,
                        _ => return self.unknown(scope.file, span, "`concat` of something that is no list"),
                    }
                }
                Value::list(all)
            }
            ("merge", _) => {
                // Each key once, at its last place, with its last value (in linear time: maps
                // may be large).
                let mut all: Vec<(String, Value)> = Vec::new();
                for arg in args {
                    match self.eval(arg, scope) {
                        Value::Map(entries) => all.extend(entries.iter().cloned()),
                        unknown @ Value::Unknown(_) => return unknown,
                        _ => return self.unknown(scope.file, span, "`merge` of something that is no map"),
                    }
                }
                let mut later: HashSet<String> = HashSet::new();
                let mut kept: Vec<(String, Value)> =
                    all.into_iter().rev().filter(|(key, _)| later.insert(key.clone())).collect();
                kept.reverse();
                Value::map(kept)
            }
            ("flatten", [arg]) => {
                fn flat(value: Value, out: &mut Vec<Value>) {
                    match value {
                        Value::List(items) => Rc::unwrap_or_clone(items).into_iter().for_each(|v| flat(v, out)),
                        other => out.push(other),
                    }
                }
                let mut out = Vec::new();
                flat(self.eval(arg, scope), &mut out);
                Value::list(out)
            }
            ("distinct", [arg]) => match self.eval(arg, scope) {
                Value::List(items) => {
                    let mut seen: HashSet<String> = HashSet::new();
                    Value::list(
                        Rc::unwrap_or_clone(items)
                            .into_iter()
                            .filter(|v| v.key_text().is_none_or(|key| seen.insert(key)))
                            .collect(),
                    )
                }
                other => other,
            },
            ("keys" | "values", [arg]) => match self.eval(arg, scope) {
                Value::Map(entries) if name == "keys" => {
                    Value::list(entries.iter().map(|(k, _)| Value::Text(plain(k, scope.file, span.clone()))).collect())
                }
                Value::Map(entries) => Value::list(entries.iter().map(|(_, v)| v.clone()).collect()),
                other => other,
            },
            ("lookup", [map, key, rest @ ..]) => {
                let map = self.eval(map, scope);
                let key = self.eval(key, scope).key_text();
                match key.and_then(|k| map.get(&k).cloned()) {
                    Some(v) => v,
                    None => match rest.first() {
                        Some(default) => self.eval(default, scope),
                        None => self.unknown(scope.file, span, "a key warden cannot find"),
                    },
                }
            }
            ("coalesce" | "try", _) => {
                for arg in args {
                    match self.eval(arg, scope) {
                        Value::Null | Value::Unknown(_) => continue,
                        Value::Text(t) if name == "coalesce" && t.is_empty() => continue,
                        value => return value,
                    }
                }
                self.unknown(scope.file, span, format!("`{name}` with no value warden can work out"))
            }
            ("length", [arg]) => match self.eval(arg, scope) {
                Value::List(items) => Value::Number(items.len() as f64),
                Value::Map(entries) => Value::Number(entries.len() as f64),
                other => other.known_text().map_or_else(
                    || self.unknown(scope.file, span, "a length warden cannot work out"),
                    |t| Value::Number(t.chars().count() as f64),
                ),
            },
            _ => self.unknown(scope.file, span, format!("`{name}()` is a function warden does not evaluate")),
        }
    }

    /// `file(path)`, or `templatefile(path, vars)`: paths relative to the module (where
    /// Terraform runs for a root module), `${path.module}/…` as it says.
    fn read_file(&mut self, path: &Expression, span: Range<usize>, scope: &Scope, vars: Option<Value>) -> Value {
        let Some(path) = self.eval(path, scope).known_text().map(PathBuf::from) else {
            return self.unknown(scope.file, span, "a file whose path warden cannot work out");
        };
        let dir = &scope.instance.module.dir;
        let path = if path.is_absolute() || path.starts_with(dir) && !dir.as_os_str().is_empty() {
            path
        } else {
            dir.join(path)
        };
        let id = match self.sources.load(&path) {
            Ok(id) => id,
            Err(error) => {
                self.findings.push((
                    scope.file,
                    Diagnostic::new(
                        &rules::UNREADABLE_REFERENCE,
                        span.clone(),
                        format!("cannot read `{}`: {error}", path.display()),
                    )
                    .with_help("warden reads the file relative to the module, as Terraform does for a root module"),
                ));
                return self.unknown(scope.file, span, format!("a readable `{}`", path.display()));
            }
        };
        let whole = self.sources.text(id);
        let Some(vars) = vars else { return Value::Text(Traced::verbatim(&whole, id, 0, Form::Raw)) };
        let raw = Traced::verbatim(&whole, id, 0, Form::HclTemplate);
        let template_scope = Scope {
            bound: match vars {
                Value::Map(entries) => Rc::unwrap_or_clone(entries).list,
                _ => Vec::new(),
            },
            ..scope.clone()
        };
        let mut resolve = |expr: &Expression| match expr {
            Expression::Variable(_) | Expression::Traversal(_) => {
                match self.eval(expr, &Scope { file: id, ..template_scope.clone() }) {
                    Value::Text(text) => Some(text),
                    _ => None,
                }
            }
            _ => None,
        };
        let (text, findings) = hcl::template_over(&raw, &mut resolve);
        self.findings.extend(findings);
        Value::Text(text)
    }

    /// `yamldecode()` / `jsondecode()`: of a whole file, strings keep their places in it.
    fn decode(&mut self, name: &str, value: Value, span: Range<usize>, scope: &Scope) -> Value {
        let Value::Text(text) = &value else { return value };
        let whole_file = match text.host_span(0..text.text().len()) {
            Some((file, host)) if host == (0..self.sources.file(file).text.len()) && text.opaque().next().is_none() => {
                Some(file)
            }
            _ => None,
        };
        let Some(file) = whole_file else {
            return self.unknown(scope.file, span, format!("`{name}()` of something other than a whole file"));
        };
        let host = self.sources.text(file);
        if name == "jsondecode" {
            return match serde_json::from_str::<serde_json::Value>(&host) {
                Ok(json) => from_json(&json, file, 0..host.len()),
                Err(_) => self.unknown(scope.file, span, "a JSON file that does not parse"),
            };
        }
        match yaml::parse(&host) {
            Ok(documents) => documents.first().map_or(Value::Null, |d| from_yaml(&host, file, d)),
            Err(_) => self.unknown(scope.file, span, "a YAML file that does not parse"),
        }
    }

    /// Evaluates every resource and data block of an instance and of its child modules.
    fn collect(&mut self, instance: &Rc<Instance>) {
        let module = Rc::clone(&instance.module);
        for (file, patched, block) in module.blocks() {
            let (kind, name) = match (block.ident.as_str(), block.labels.len()) {
                ("resource", 2) => (block.labels[0].as_str().to_string(), block.labels[1].as_str().to_string()),
                ("data", 2) => (format!("data.{}", block.labels[0].as_str()), block.labels[1].as_str().to_string()),
                _ => continue,
            };
            if !RELEVANT.iter().any(|k| *k == kind) {
                continue;
            }
            let scope =
                Scope { instance: Rc::clone(instance), file, patched, each: None, count: None, bound: Vec::new() };
            let label_span = block.labels[1].span().unwrap_or(0..0);
            for Instantiation { each, key } in self.instances(block, &scope) {
                let count = if each.is_none() { key.as_ref().and_then(|k| k.parse().ok()) } else { None };
                let inner = Scope { each, count, ..scope.clone() };
                let attributes = self.attributes(&block.body, &inner);
                let object_keys = block
                    .body
                    .attributes()
                    .chain(block.body.blocks().flat_map(|nested| {
                        let content = nested.body.blocks().filter(|b| b.ident.as_str() == "content");
                        nested.body.attributes().chain(content.flat_map(|c| c.body.attributes()))
                    }))
                    .filter_map(|a| match &a.value {
                        Expression::Object(object) => Some(object),
                        _ => None,
                    })
                    .flat_map(|object| object.iter().map(|(key, _)| key))
                    .filter_map(|key| {
                        let name = match key {
                            ObjectKey::Ident(ident) => ident.as_str().to_string(),
                            ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                            ObjectKey::Expression(_) => return None,
                        };
                        Some((name, file, key.span()?))
                    })
                    .collect();
                let (blocks, unexpanded) = self.nested_blocks(&block.body, &inner);
                let instance_key = match &key {
                    Some(key) => format!("{name}.{key}"),
                    None => name.clone(),
                };
                let shown = |prefix: &str| {
                    let path: String = prefix.split_terminator('.').map(|m| format!("module.{m}.")).collect();
                    format!("{path}{kind}.{name}{}", key.as_ref().map_or_else(String::new, |k| format!("[\"{k}\"]")))
                };
                self.resources.push(Resource {
                    kind: kind.clone(),
                    key: format!("{}{instance_key}", instance.prefix),
                    address: shown(&instance.prefix),
                    file,
                    span: label_span.clone(),
                    attributes,
                    blocks,
                    unexpanded,
                    object_keys,
                });
            }
        }
        for (_, child) in self.children_of(instance) {
            self.collect(&child);
        }
    }

    /// The nested blocks of a resource, each with its attributes evaluated, and the `dynamic`
    /// blocks that cannot be expanded. A `dynamic "policy"` block makes one `policy` block per
    /// element of its `for_each` (a map's entries, a list's items), its `content` evaluated with
    /// the iterator bound: `policy.key` (a map key or a list index) and `policy.value`, or
    /// under the name `iterator` gives.
    fn nested_blocks(&mut self, body: &Body, scope: &Scope) -> (Vec<(String, Vec<Attribute>)>, Vec<Attribute>) {
        let (mut blocks, mut unexpanded) = (Vec::new(), Vec::new());
        for nested in body.blocks() {
            let (true, Some(label)) = (nested.ident.as_str() == "dynamic", nested.labels.first()) else {
                blocks.push((nested.ident.as_str().to_string(), self.attributes(&nested.body, scope)));
                continue;
            };
            let name = label.as_str().to_string();
            let iterator = match nested.body.get_attribute("iterator").map(|a| &a.value) {
                Some(Expression::Variable(iterator)) => iterator.as_str().to_string(),
                _ => name.clone(),
            };
            let content = nested.body.blocks().find(|b| b.ident.as_str() == "content");
            let (for_each, at) = match nested.body.get_attribute("for_each") {
                Some(for_each) => (self.eval(&for_each.value, scope), for_each.value.span().unwrap_or(0..0)),
                None => (Value::Null, label.span().unwrap_or(0..0)),
            };
            let (elements, content): (Vec<(Value, Value)>, _) = match (&for_each, content) {
                (Value::Map(entries), Some(content)) => (
                    entries.iter().map(|(k, v)| (Value::Text(plain(k, scope.file, at.clone())), v.clone())).collect(),
                    content,
                ),
                (Value::List(items), Some(content)) => {
                    (items.iter().enumerate().map(|(i, v)| (Value::Number(i as f64), v.clone())).collect(), content)
                }
                _ => {
                    unexpanded.push(Attribute { name, value: for_each, file: scope.file, span: at });
                    continue;
                }
            };
            if !self.copies(elements.len(), scope.file, at, &format!("`dynamic \"{name}\"`")) {
                continue;
            }
            for (key, value) in elements {
                let mut inner = scope.clone();
                inner.bound.push((iterator.clone(), Value::map(vec![("key".into(), key), ("value".into(), value)])));
                blocks.push((name.clone(), self.attributes(&content.body, &inner)));
            }
        }
        (blocks, unexpanded)
    }

    fn attributes(&mut self, body: &Body, scope: &Scope) -> Vec<Attribute> {
        body.attributes()
            .filter(|a| !matches!(a.key.as_str(), "for_each" | "count" | "depends_on" | "lifecycle" | "provider"))
            .map(|a| Attribute {
                name: a.key.as_str().to_string(),
                value: self.eval(&a.value, scope),
                file: scope.file,
                span: a.value.span().unwrap_or(0..0),
            })
            .collect()
    }
}

/// The resource and data types a tenant is made of.
const RELEVANT: [&str; 11] = [
    "dynatrace_iam_policy",
    "dynatrace_policy",
    "dynatrace_iam_policy_boundary",
    "dynatrace_iam_group",
    "dynatrace_iam_user",
    "dynatrace_iam_service_user",
    "dynatrace_iam_policy_bindings_v2",
    "dynatrace_iam_policy_bindings",
    "dynatrace_policy_bindings",
    "data.dynatrace_iam_policy",
    "data.dynatrace_iam_group",
];

/// A text warden makes (a map key as `each.key`), placed at the expression it comes from.
fn plain(text: &str, file: FileId, span: Range<usize>) -> Traced {
    let mut traced = Traced::new();
    traced.push_escaped(text, file, span, Form::Interpolated);
    traced
}

/// `trimspace`, `chomp`, `lower`, `upper` of a traced text.
fn transform(name: &str, text: &Traced) -> Traced {
    let s = text.text();
    let range = match name {
        "trimspace" => {
            let start = s.len() - s.trim_start().len();
            start..start.max(s.trim_end().len())
        }
        "chomp" => 0..s.trim_end_matches(['\n', '\r']).len(),
        _ => {
            let changed = if name == "lower" { s.to_lowercase() } else { s.to_uppercase() };
            if changed == s {
                return text.clone();
            }
            let mut out = Traced::new();
            if let Some((file, span)) = text.host_span(0..s.len()) {
                out.push_escaped(&changed, file, span, Form::Interpolated);
            }
            return out;
        }
    };
    let mut out = Traced::new();
    out.append_range(text, range);
    out
}

fn from_json(json: &serde_json::Value, file: FileId, span: Range<usize>) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => {
            let mut text = Traced::new();
            text.push_escaped(s, file, span.clone(), Form::Interpolated);
            Value::Text(text)
        }
        serde_json::Value::Array(items) => {
            Value::list(items.iter().map(|v| from_json(v, file, span.clone())).collect())
        }
        serde_json::Value::Object(map) => {
            Value::map(map.iter().map(|(k, v)| (k.clone(), from_json(v, file, span.clone()))).collect())
        }
    }
}

fn from_yaml(host: &str, file: FileId, node: &yaml::Node) -> Value {
    match node {
        yaml::Node::Scalar(scalar) => match (scalar.style, scalar.value.as_str()) {
            (saphyr_parser::ScalarStyle::Plain, "true") => Value::Bool(true),
            (saphyr_parser::ScalarStyle::Plain, "false") => Value::Bool(false),
            (saphyr_parser::ScalarStyle::Plain, "null" | "~" | "") => Value::Null,
            (saphyr_parser::ScalarStyle::Plain, number) if number.parse::<f64>().is_ok() => {
                Value::Number(number.parse().expect("checked"))
            }
            _ => Value::Text(yaml::traced(host, file, scalar)),
        },
        yaml::Node::Seq(items) => Value::list(items.iter().map(|n| from_yaml(host, file, n)).collect()),
        yaml::Node::Map(entries) => Value::map(
            entries.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), from_yaml(host, file, v)))).collect(),
        ),
    }
}

/// What evaluating a Terraform directory gave: its resources, the child module directories it
/// reached, and the problems of its files.
pub(super) struct Evaluated {
    resources: Vec<Resource>,
    pub(super) children: Vec<PathBuf>,
    pub(super) findings: Vec<(FileId, Diagnostic)>,
}

/// Evaluates the module in `dir` (or, with `file` and no directory, that file alone).
pub(super) fn evaluate(
    sources: &mut Sources,
    dir: Option<&Path>,
    file: Option<FileId>,
    variables: &Variables,
) -> Result<Evaluated, super::ReadError> {
    let mut evaluator = Evaluator::new(sources);
    let module = match (dir, file) {
        (Some(dir), _) => evaluator.module(dir)?,
        (None, Some(file)) => evaluator.single_file(file),
        (None, None) => return Ok(Evaluated { resources: Vec::new(), children: Vec::new(), findings: Vec::new() }),
    };
    let root = evaluator.root(module, variables)?;
    evaluator.collect(&root);
    Ok(Evaluated { resources: evaluator.resources, children: evaluator.children, findings: evaluator.findings })
}

impl Evaluated {
    /// The policy and boundary texts, each with the file its resource block is in.
    fn texts(&self) -> Vec<(FileId, Found)> {
        let mut out = Vec::new();
        for resource in &self.resources {
            let Some((_, field, kind)) = HOSTED_TEXTS.iter().find(|(k, _, _)| *k == resource.kind) else { continue };
            let Some((value, file, span)) = resource.attribute(field) else { continue };
            let name = resource.attribute("name").and_then(|(v, ..)| v.known_text().map(str::to_string));
            out.push((resource.file, found(*kind, &resource.address, name, value, file, span)));
        }
        out
    }
}

/// The text of a policy or boundary attribute: a string, with the `file()` call it came
/// through; anything else is one unresolved part.
fn found(
    kind: TextKind,
    address: &str,
    name: Option<String>,
    value: &Value,
    file: FileId,
    span: Range<usize>,
) -> Found {
    match value {
        Value::Text(text) => {
            let via = text.files().first().filter(|f| **f != file).map(|_| Via {
                file,
                span: span.clone(),
                resource: address.to_string(),
            });
            Found::new(kind, Some(address.to_string()), name, text.clone(), via)
        }
        _ => {
            let mut text = Traced::new();
            let what = match value {
                Value::Unknown(unknown) => unknown.what.clone(),
                _ => "this value".to_string(),
            };
            text.push_opaque(FILLER_LINES, file, span, &what);
            Found::new(kind, Some(address.to_string()), name, text, None)
        }
    }
}

/// Reads a Terraform module directory as a tenant model.
pub fn read_tenant(dir: &Path, variables: &Variables) -> Result<Model, super::ReadError> {
    let mut model = Model::default();
    model.sources.read_within(dir);
    let evaluated = evaluate(&mut model.sources, Some(dir), None, variables)?;
    model.findings.extend(evaluated.findings.iter().cloned());
    let mut tenant = TenantBuilder { model: &mut model, resources: &evaluated.resources };
    tenant.build();
    Ok(model)
}

struct TenantBuilder<'a> {
    model: &'a mut Model,
    resources: &'a [Resource],
}

impl TenantBuilder<'_> {
    fn unresolved(&mut self, file: FileId, span: Range<usize>, message: String, help: String) {
        let diagnostic = Diagnostic::new(&rules::UNRESOLVED_REFERENCE, span, message).with_help(help);
        if !self
            .model
            .unresolved
            .iter()
            .any(|(f, d)| *f == file && d.span == diagnostic.span && d.message == diagnostic.message)
        {
            self.model.unresolved.push((file, diagnostic));
        }
    }

    /// An unknown value the tenant needs, reported where it stands.
    fn needed(&mut self, value: &Value, file: FileId, span: Range<usize>, what: &str) {
        match value {
            Value::Unknown(unknown) => {
                let (unknown_file, unknown_span) =
                    if unknown.span.is_empty() { (file, span) } else { (unknown.file, unknown.span.clone()) };
                self.unresolved(
                    unknown_file,
                    unknown_span,
                    format!("{what}: warden cannot resolve `{}`", unknown.what),
                    unknown.supply.clone(),
                );
            }
            _ => self.unresolved(
                file,
                span,
                format!("{what}: warden cannot resolve this value"),
                "write it as a literal, or as a reference to a resource of the module".to_string(),
            ),
        }
    }

    /// A string attribute the tenant needs.
    fn text(&mut self, resource_index: usize, name: &str, what: &str) -> Option<At<String>> {
        let resource = &self.resources[resource_index];
        let (value, file, span) = resource.attribute(name)?;
        match value.known_text() {
            Some(text) => Some(At::new(text.to_string(), file, span)),
            None => {
                let value = value.clone();
                self.needed(&value, file, span, what);
                None
            }
        }
    }

    /// The positions of the resources of these kinds.
    fn of_kind(&self, kinds: &[&str]) -> Vec<usize> {
        self.resources.iter().enumerate().filter(|(_, r)| kinds.contains(&r.kind.as_str())).map(|(i, _)| i).collect()
    }

    fn build(&mut self) {
        for resource in self.resources {
            let Some((_, field, kind)) = HOSTED_TEXTS.iter().find(|(k, _, _)| *k == resource.kind) else { continue };
            let Some((value, file, span)) = resource.attribute(field) else { continue };
            let name = resource.attribute("name").and_then(|(v, ..)| v.known_text().map(str::to_string));
            let found = found(*kind, &resource.address, name, value, file, span);
            let named = NamedText { key: resource.key.clone(), found };
            match kind {
                TextKind::Policy => self.model.policies.push(named),
                TextKind::Boundary => self.model.boundaries.push(named),
            }
            if let Some((value, file, span)) = resource.attribute("account") {
                if let Some(account) = value.known_text() {
                    self.model.account.get_or_insert_with(|| At::new(account.to_string(), file, span));
                }
            }
        }
        let groups = self.of_kind(&["dynatrace_iam_group"]);
        for i in groups {
            let resource = &self.resources[i];
            let name =
                resource.attribute("name").and_then(|(v, ..)| v.known_text().map(str::to_string)).unwrap_or_default();
            self.model
                .groups
                .push(ModelGroup { id: At::new(resource.key.clone(), resource.file, resource.span.clone()), name });
        }
        let users = self.of_kind(&["dynatrace_iam_user"]);
        for i in users {
            let Some(email) = self.text(i, "email", "the email of a user") else { continue };
            let groups = self.group_list(i, "groups");
            self.model.users.push(ModelUser { id: email.clone(), email, groups });
        }
        let services = self.of_kind(&["dynatrace_iam_service_user"]);
        for i in services {
            let resource = &self.resources[i];
            let id = At::new(resource.key.clone(), resource.file, resource.span.clone());
            let name = resource
                .attribute("name")
                .and_then(|(v, ..)| v.known_text().map(str::to_string))
                .unwrap_or_else(|| resource.key.clone());
            let groups = self.group_list(i, "groups");
            self.model.service_users.push(ModelServiceUser { id, name, groups });
        }
        let bindings = self.of_kind(&[
            "dynatrace_iam_policy_bindings_v2",
            "dynatrace_iam_policy_bindings",
            "dynatrace_policy_bindings",
        ]);
        for i in bindings {
            self.bindings(i);
        }
    }

    /// The group references of a list attribute.
    fn group_list(&mut self, i: usize, name: &str) -> Vec<At<String>> {
        let Some((value, file, span)) = self.resources[i].attribute(name) else { return Vec::new() };
        let items = match value {
            Value::List(items) => items.to_vec(),
            other => vec![other.clone()],
        };
        items.iter().filter_map(|item| self.group(item, file, span.clone())).collect()
    }

    /// A group reference: `dynatrace_iam_group.x.id`, or `data.dynatrace_iam_group.x.id` of a
    /// group of the module with that name.
    fn group(&mut self, value: &Value, file: FileId, span: Range<usize>) -> Option<At<String>> {
        match value {
            Value::Ref(reference) if reference.kind == "dynatrace_iam_group" => {
                Some(At::new(reference.key.clone(), reference.file, reference.span.clone()))
            }
            Value::Ref(reference) if reference.kind == "data.dynatrace_iam_group" => {
                let data = self.resources.iter().find(|r| r.kind == reference.kind && r.key == reference.key)?;
                let wanted = data.attribute("name").and_then(|(v, ..)| v.known_text().map(str::to_string));
                let group = self.resources.iter().find(|r| {
                    r.kind == "dynatrace_iam_group"
                        && r.attribute("name").and_then(|(v, ..)| v.known_text().map(str::to_string)) == wanted
                });
                match group {
                    Some(group) => Some(At::new(group.key.clone(), reference.file, reference.span.clone())),
                    None => {
                        self.unresolved(
                            reference.file,
                            reference.span.clone(),
                            format!("the group `{}` is not defined in the module", wanted.unwrap_or_default()),
                            "warden knows the groups the module defines: add a `dynatrace_iam_group`".to_string(),
                        );
                        None
                    }
                }
            }
            other => {
                self.needed(other, file, span, "a group");
                None
            }
        }
    }

    fn bindings(&mut self, i: usize) {
        let resource = &self.resources[i];
        let group_value = resource.attribute("group");
        let Some((group_value, group_file, group_span)) = group_value.map(|(v, f, s)| (v.clone(), f, s)) else {
            return;
        };
        let Some(group) = self.group(&group_value, group_file, group_span) else { return };
        let level = match (resource.attribute("environment"), resource.attribute("account")) {
            (Some((value, file, span)), _) => match value.known_text() {
                Some(env) => {
                    let env = At::new(env.to_string(), file, span.clone());
                    self.model.environment(env.clone());
                    At::new(ModelLevel::Environment(env.value), file, span)
                }
                None => {
                    let value = value.clone();
                    self.needed(&value, file, span, "the environment of a binding");
                    return;
                }
            },
            (None, Some((value, file, span))) => {
                if let Some(account) = value.known_text() {
                    self.model.account.get_or_insert_with(|| At::new(account.to_string(), file, span.clone()));
                }
                At::new(ModelLevel::Account, file, span)
            }
            (None, None) => At::new(ModelLevel::Account, resource.file, resource.span.clone()),
        };
        // A `dynamic "policy"` block left unexpanded would drop its bindings unseen.
        for dynamic in resource.unexpanded.iter().filter(|d| d.name == "policy") {
            let what = "the policies a `dynamic \"policy\"` block binds";
            self.needed(&dynamic.value, dynamic.file, dynamic.span.clone(), what);
        }
        // v2: `policy { id, parameters, boundaries }` blocks; v1: `policies = [ids]`.
        let mut entries: Vec<BoundPolicy> = Vec::new();
        for (ident, attributes) in &resource.blocks {
            if ident != "policy" {
                continue;
            }
            let get = |name: &str| {
                attributes.iter().find(|a| a.name == name).map(|a| (a.value.clone(), a.file, a.span.clone()))
            };
            let Some((id, file, span)) = get("id") else { continue };
            entries.push(BoundPolicy { id, file, span, parameters: get("parameters"), boundaries: get("boundaries") });
        }
        if let Some((Value::List(ids), file, span)) = resource.attribute("policies").map(|(v, f, s)| (v.clone(), f, s))
        {
            entries.extend(Rc::unwrap_or_clone(ids).into_iter().map(|id| BoundPolicy {
                id,
                file,
                span: span.clone(),
                parameters: None,
                boundaries: None,
            }));
        }
        for BoundPolicy { id, file, span, parameters, boundaries } in entries {
            let Some(policy) = self.policy(&id, file, span) else { continue };
            let parameters = match parameters {
                Some((Value::Map(entries), pfile, pspan)) => Rc::unwrap_or_clone(entries)
                    .list
                    .into_iter()
                    .filter_map(|(name, value)| {
                        let (vfile, vspan) = value_place(&value).unwrap_or((pfile, pspan.clone()));
                        let parameter = match &value {
                            Value::List(items) => ModelParameter::Many(
                                items.iter().filter_map(|v| v.known_text().map(str::to_string)).collect(),
                            ),
                            other => ModelParameter::One(other.key_text()?),
                        };
                        let key = resource.object_keys.iter().find(|(k, f, s)| {
                            *k == name && *f == pfile && pspan.start <= s.start && s.end <= pspan.end
                        });
                        let (kfile, kspan) = key.map_or((pfile, pspan.clone()), |(_, f, s)| (*f, s.clone()));
                        Some((At::new(name, kfile, kspan), At::new(parameter, vfile, vspan)))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let boundaries = match boundaries {
                Some((Value::List(items), bfile, bspan)) => items
                    .iter()
                    .filter_map(|item| match item {
                        Value::Ref(reference) if reference.kind == "dynatrace_iam_policy_boundary" => {
                            Some(At::new(reference.key.clone(), reference.file, reference.span.clone()))
                        }
                        other => {
                            self.unresolved(bfile, bspan.clone(), format!("a boundary warden cannot resolve: `{}`", describe(other)), "refer to a `dynatrace_iam_policy_boundary` of the module: a dropped boundary would widen access".to_string());
                            None
                        }
                    })
                    .collect(),
                _ => Vec::new(),
            };
            self.model.bindings.push(ModelBinding {
                policy,
                group: group.clone(),
                level: level.clone(),
                parameters,
                boundaries,
            });
        }
    }

    /// A policy reference: a policy resource, a `data` policy by name (a platform policy), or
    /// a literal id warden cannot tell apart.
    fn policy(&mut self, value: &Value, file: FileId, span: Range<usize>) -> Option<At<PolicyRef>> {
        match value {
            Value::Ref(reference)
                if reference.kind == "dynatrace_iam_policy" || reference.kind == "dynatrace_policy" =>
            {
                Some(At::new(PolicyRef::Key(reference.key.clone()), reference.file, reference.span.clone()))
            }
            Value::Ref(reference) if reference.kind == "data.dynatrace_iam_policy" => {
                let data = self.resources.iter().find(|r| r.kind == reference.kind && r.key == reference.key);
                match data.and_then(|d| d.attribute("name")).and_then(|(v, ..)| v.known_text().map(str::to_string)) {
                    Some(name) => Some(At::new(PolicyRef::Builtin(name), reference.file, reference.span.clone())),
                    None => {
                        self.unresolved(
                            reference.file,
                            reference.span.clone(),
                            "a policy data source without a name warden can read".to_string(),
                            "look the policy up by `name`".to_string(),
                        );
                        None
                    }
                }
            }
            other => {
                let help = match other.known_text() {
                    Some(id) if id.contains("#-#") => format!(
                        "`{id}` is an id from an export: refer to the policy's resource, or to `data \"dynatrace_iam_policy\"` by name"
                    ),
                    _ => {
                        "refer to a `dynatrace_iam_policy` of the module, or to `data \"dynatrace_iam_policy\"` by name"
                            .to_string()
                    }
                };
                match other {
                    Value::Unknown(_) => self.needed(other, file, span, "a bound policy"),
                    _ => self.unresolved(
                        file,
                        span,
                        format!("a bound policy warden cannot resolve: `{}`", describe(other)),
                        help,
                    ),
                }
                None
            }
        }
    }
}

/// A policy of a bindings resource: its id, and the parameters and boundaries given with it.
struct BoundPolicy {
    id: Value,
    file: FileId,
    span: Range<usize>,
    parameters: Option<(Value, FileId, Range<usize>)>,
    boundaries: Option<(Value, FileId, Range<usize>)>,
}

/// Where a value was written, when it is a string.
fn value_place(value: &Value) -> Option<(FileId, Range<usize>)> {
    match value {
        Value::Text(text) => text.host_span(0..text.text().len()),
        Value::List(items) => {
            let first = items.first().and_then(value_place)?;
            let last = items.last().and_then(value_place)?;
            (first.0 == last.0).then_some((first.0, first.1.start..last.1.end))
        }
        _ => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Text(text) => text.text().to_string(),
        Value::Unknown(unknown) => unknown.what.clone(),
        Value::Ref(reference) => format!("{}.{}", reference.kind, reference.key),
        _ => "this value".to_string(),
    }
}

/// One evaluation of a module directory, shared by the reads of its files.
#[derive(Default)]
pub(super) struct Cached {
    texts: Vec<(FileId, Found)>,
    findings: Vec<(FileId, Diagnostic)>,
    /// Whether the findings on files outside the module (template files) were handed out.
    spoken: std::cell::Cell<bool>,
}

/// The policy and boundary texts of a `.tf` file, evaluated with its whole module (variables,
/// locals, child modules); a module is evaluated once for all its files, and a child module
/// reached from it is read through it.
pub(super) fn read_file(sources: &mut Sources, file: FileId) -> super::Extract {
    // `main.tf` in the working directory has the parent ``, which names no directory.
    let dir = sources.path(file).and_then(Path::parent).map(|dir| super::reader::normalize(&Path::new(".").join(dir)));
    let cached = match dir.as_ref().and_then(|d| sources.terraform.get(d)) {
        Some(cached) => Rc::clone(cached),
        None => {
            let variables = sources.variables.clone();
            let evaluated = match evaluate(sources, dir.as_deref(), Some(file), &variables) {
                Ok(evaluated) => evaluated,
                Err(error) => {
                    let mut extract = super::Extract { host: true, ..Default::default() };
                    extract.findings.push((
                        file,
                        Diagnostic::new(&rules::UNREADABLE_REFERENCE, 0..0, format!("cannot read the module: {error}")),
                    ));
                    return extract;
                }
            };
            let cached = Rc::new(Cached {
                texts: evaluated.texts(),
                findings: evaluated.findings.clone(),
                spoken: Default::default(),
            });
            if let Some(dir) = &dir {
                for child in evaluated.children.iter().chain([dir]) {
                    sources.terraform.entry(child.clone()).or_insert_with(|| Rc::clone(&cached));
                }
            }
            cached
        }
    };
    let module_file =
        |id: &FileId| sources.path(*id).is_some_and(|p| super::Format::from_path(p) == Some(super::Format::Terraform));
    let mut extract = super::Extract {
        found: cached.texts.iter().filter(|(f, _)| *f == file).map(|(_, found)| found.clone()).collect(),
        findings: cached.findings.iter().filter(|(f, _)| *f == file).cloned().collect(),
        ..Default::default()
    };
    if !cached.spoken.replace(true) {
        extract.findings.extend(cached.findings.iter().filter(|(f, _)| !module_file(f)).cloned());
    }
    extract.host = !extract.found.is_empty() || !extract.findings.is_empty();
    extract
}
