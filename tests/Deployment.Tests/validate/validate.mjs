// Validates deployment files and prints one JSON report on stdout; exits 1 when anything fails.
//
//   node validate.mjs manifests FILE...   every YAML document: Kubernetes, Argo CD, External Secrets and
//                                         Prometheus Operator kinds against @kubernetes-models schemas,
//                                         Dapr kinds against ../schemas/*.schema.json
//   node validate.mjs terraform DIR       every *.tf / *.tfvars under DIR: parses (HCL), variables have a
//                                         description and a type, no literal secrets, providers pinned,
//                                         a backend in every environment (DIR/envs/*)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import Ajv from "ajv";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { createHash } from "node:crypto";

const here = path.dirname(fileURLToPath(import.meta.url));
const schemaDir = path.join(here, "..", "schemas");
const componentSchema = readJson("dapr-component.schema.json");
const hclVersion = JSON.parse(fs.readFileSync(path.join(here, "node_modules", "@cdktf", "hcl2json", "package.json"), "utf8")).version;

const [command, ...args] = process.argv.slice(2);
const report = { command, checked: 0, errors: [] };
const fail = (source, message) => report.errors.push({ source, message });

// ---------------------------------------------------------------- manifests

async function validateManifests(files) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const dapr = {
    "dapr.io/v1alpha1/Component": ajv.compile(componentSchema),
    "dapr.io/v1alpha1/Resiliency": ajv.compile(readJson("dapr-resiliency.schema.json")),
    "dapr.io/v1alpha1/Configuration": ajv.compile(readJson("dapr-configuration.schema.json")),
    "dapr.io/v2alpha1/Subscription": ajv.compile(readJson("dapr-subscription.schema.json")),
  };
  for (const file of files) {
    const text = file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(file, "utf8");
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) {
        fail(file, `YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
        continue;
      }
      const obj = doc.toJS();
      if (obj === null || obj === undefined) continue;
      const id = `${file}: ${obj.kind ?? "?"} ${obj.metadata?.name ?? "?"}`;
      report.checked++;
      if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
        fail(id, "missing apiVersion or kind");
        continue;
      }
      const daprValidator = dapr[`${obj.apiVersion}/${obj.kind}`];
      if (daprValidator) {
        if (!daprValidator(obj)) {
          for (const key of undocumentedComponentKeys(obj)) fail(id, `metadata key "${key}" is not documented for ${obj.spec.type}`);
          fail(id, ajv.errorsText(daprValidator.errors, { dataVar: obj.kind }));
        } else if (obj.kind === "Resiliency") {
          checkResiliencyReferences(obj, (m) => fail(id, m));
        }
        continue;
      }
      if (obj.apiVersion.startsWith("dapr.io/")) {
        fail(id, `no schema for Dapr ${obj.apiVersion} ${obj.kind}`);
        continue;
      }
      const Model = await loadModel(obj.apiVersion, obj.kind);
      if (!Model) {
        fail(id, `no schema known for ${obj.apiVersion} ${obj.kind}`);
        continue;
      }
      try {
        new Model(obj).validate();
      } catch (e) {
        fail(id, e.message);
      }
    }
  }
}

// Names the offending keys, which the schema's error text only points at by index.
function undocumentedComponentKeys(obj) {
  if (obj.kind !== "Component") return [];
  const rule = componentSchema.allOf.find((r) => {
    const p = r.if.properties.spec.properties;
    return p.type.const === obj.spec?.type && (p.version === undefined || p.version.const === obj.spec?.version);
  });
  const documented = rule?.then.allOf[0].properties.spec.properties.metadata.items.properties.name.enum;
  if (!documented) return [];
  return (obj.spec.metadata ?? []).map((m) => m.name).filter((n) => !documented.includes(n));
}

function readJson(name) {
  return JSON.parse(fs.readFileSync(path.join(schemaDir, name), "utf8"));
}

// Each resiliency target must name policies that exist (the runtime refuses unknown names).
function checkResiliencyReferences(obj, report) {
  const policies = obj.spec.policies ?? {};
  const known = {
    timeout: Object.keys(policies.timeouts ?? {}),
    retry: Object.keys(policies.retries ?? {}),
    circuitBreaker: Object.keys(policies.circuitBreakers ?? {}),
  };
  const check = (where, target) => {
    for (const kind of Object.keys(known)) {
      const name = target?.[kind];
      if (name !== undefined && !known[kind].includes(name)) report(`${where}.${kind}: unknown policy '${name}'`);
    }
  };
  const targets = obj.spec.targets ?? {};
  for (const [app, t] of Object.entries(targets.apps ?? {})) check(`targets.apps.${app}`, t);
  for (const [actor, t] of Object.entries(targets.actors ?? {})) check(`targets.actors.${actor}`, t);
  for (const [component, t] of Object.entries(targets.components ?? {})) {
    check(`targets.components.${component}.inbound`, t.inbound);
    check(`targets.components.${component}.outbound`, t.outbound);
  }
}

const modelPackages = [
  { match: (g) => g === "argoproj.io", pkg: "@kubernetes-models/argo-cd" },
  { match: (g) => g === "external-secrets.io", pkg: "@kubernetes-models/external-secrets" },
  { match: (g) => g === "monitoring.coreos.com", pkg: "@kubernetes-models/prometheus-operator" },
  { match: () => true, pkg: "kubernetes-models" },
];

async function loadModel(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const { pkg } = modelPackages.find((p) => p.match(group));
  const spec = group === "" ? `${pkg}/${version}/${kind}` : `${pkg}/${group}/${version}/${kind}`;
  try {
    const module = await import(spec);
    return module[kind];
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- terraform

async function validateTerraform(root) {
  if (!root || !fs.existsSync(root)) {
    fail(String(root), "terraform directory not found");
    return;
  }
  const files = walk(root).filter((f) => /\.(tf|tfvars)$/.test(f));
  if (files.length === 0) fail(root, "no Terraform files");
  const parsed = new Map();
  for (const file of files) {
    report.checked++;
    const rel = path.relative(root, file);
    try {
      parsed.set(rel, await parseCached(file, fs.readFileSync(file, "utf8")));
    } catch (e) {
      fail(rel, `does not parse: ${String(e.message ?? e).split("\n")[0]}`);
    }
  }
  for (const [rel, hcl] of parsed) {
    checkVariables(rel, hcl);
    checkProviders(rel, hcl);
    checkSecrets(rel, hcl, []);
  }
  checkDirectories(root, parsed);
}

// Parsing HCL in WebAssembly costs ~0.1 s a file: results are cached by content (the cache only saves time).
const cacheDir = path.join(here, "node_modules", ".cache", "hcl2json");

async function parseCached(file, text) {
  const key = createHash("sha256").update(hclVersion).update("\0").update(text).digest("hex");
  const cached = path.join(cacheDir, `${key}.json`);
  if (fs.existsSync(cached)) return JSON.parse(fs.readFileSync(cached, "utf8"));
  const result = await parseHcl(file, text);
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(`${cached}.${process.pid}`, JSON.stringify(result));
  fs.renameSync(`${cached}.${process.pid}`, cached);
  return result;
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === ".terraform" ? [] : walk(full);
    return [full];
  });
}

function checkVariables(rel, hcl) {
  for (const [name, blocks] of Object.entries(hcl.variable ?? {})) {
    const v = blocks[0] ?? {};
    if (typeof v.description !== "string" || v.description.trim() === "") fail(rel, `variable "${name}" has no description`);
    if (v.type === undefined) fail(rel, `variable "${name}" has no type`);
    if (secretName.test(name) && typeof v.default === "string" && v.default !== "") {
      fail(rel, `variable "${name}" has a literal default for a secret`);
    }
  }
}

// "~> 5.98", "= 1.2.3", "1.2.3": a provider may move within a minor (or patch) line, never to a new major.
const pinnedVersion = /^\s*(~>\s*\d+\.\d+(\.\d+)?|=?\s*\d+\.\d+\.\d+)\s*$/;

function checkProviders(rel, hcl) {
  for (const block of hcl.terraform ?? []) {
    for (const providers of block.required_providers ?? []) {
      for (const [name, req] of Object.entries(providers)) {
        if (typeof req !== "object" || typeof req.source !== "string") fail(rel, `provider "${name}" has no source`);
        else if (typeof req.version !== "string" || !pinnedVersion.test(req.version)) {
          fail(rel, `provider "${name}" version is not pinned ("${req.version ?? ""}"); use "~> X.Y" or an exact version`);
        }
      }
    }
  }
}

const secretName = /(password|passwd|secret|token|private_?key|access_?key|api_?key)/i;
const secretAttributeNames = /(^|_)(password|passwd|secret|token|private_key|access_key|api_key|auth_token|secret_string)$/i;
// A secret-looking assignment inside an expression, e.g. jsonencode({ password = "hunter2" }).
const embeddedLiteral = /\b(\w*(?:password|passwd|secret|token|private_key|access_key|api_key))\s*=\s*\\?"([^"$\\]+)\\?"/i;

function checkSecrets(rel, node, trail) {
  if (Array.isArray(node)) {
    node.forEach((n) => checkSecrets(rel, n, trail));
    return;
  }
  if (node === null || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    const where = [...trail, key].join(".");
    if (typeof value === "string") {
      const interpolated = value.startsWith("${") && value.endsWith("}");
      if (secretAttributeNames.test(key) && !interpolated && value !== "" && trail[0] !== "variable") {
        fail(rel, `${where}: literal secret value`);
      }
      const embedded = embeddedLiteral.exec(value);
      if (embedded) fail(rel, `${where}: literal secret value for "${embedded[1]}"`);
    } else {
      checkSecrets(rel, value, [...trail, key]);
    }
  }
}

function checkDirectories(root, parsed) {
  const envsDir = path.join(root, "envs");
  const envs = fs.existsSync(envsDir) ? fs.readdirSync(envsDir).filter((d) => fs.statSync(path.join(envsDir, d)).isDirectory()) : [];
  if (envs.length === 0) fail("envs", "no environments under envs/");
  const keys = new Map();
  for (const env of envs) {
    const inEnv = [...parsed].filter(([rel]) => rel.startsWith(path.join("envs", env) + path.sep));
    const backends = inEnv.flatMap(([, hcl]) => (hcl.terraform ?? []).flatMap((t) => (t.backend ? Object.entries(t.backend) : [])));
    if (backends.length !== 1) {
      fail(`envs/${env}`, `expected one backend block, found ${backends.length}`);
    } else {
      const [type, [config]] = backends[0];
      if (type === "local") fail(`envs/${env}`, "backend is local: use a remote backend");
      const key = config?.key ?? config?.prefix ?? config?.workspaces?.[0]?.name;
      if (!key) fail(`envs/${env}`, `backend "${type}" has no state key`);
      else if (keys.has(key)) fail(`envs/${env}`, `backend key "${key}" is shared with envs/${keys.get(key)}`);
      else keys.set(key, env);
    }
    const versioned = inEnv.some(([, hcl]) => (hcl.terraform ?? []).some((t) => typeof t.required_version === "string"));
    if (!versioned) fail(`envs/${env}`, "no required_version");
    const modules = inEnv.flatMap(([, hcl]) => Object.keys(hcl.module ?? {}));
    if (modules.length === 0) fail(`envs/${env}`, "composes no modules");
  }
  const modulesDir = path.join(root, "modules");
  if (fs.existsSync(modulesDir)) {
    for (const mod of fs.readdirSync(modulesDir)) {
      const inModule = [...parsed].filter(([rel]) => rel.startsWith(path.join("modules", mod) + path.sep));
      const hasProviders = inModule.some(([, hcl]) => (hcl.terraform ?? []).some((t) => t.required_providers));
      if (!hasProviders) fail(`modules/${mod}`, "declares no required_providers");
      const hasBackend = inModule.some(([, hcl]) => (hcl.terraform ?? []).some((t) => t.backend));
      if (hasBackend) fail(`modules/${mod}`, "a module must not configure a backend");
    }
  }
}

// ---------------------------------------------------------------- main

if (command === "manifests") {
  await validateManifests(args);
} else if (command === "terraform") {
  await validateTerraform(args[0]);
} else {
  fail("usage", "expected: manifests FILE... | terraform DIR");
}
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
process.exit(report.errors.length === 0 ? 0 : 1);
