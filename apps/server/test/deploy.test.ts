// deploy/: the Dockerfile, compose.yaml and the Kubernetes manifests, checked offline: Kubernetes'
// schemas (kubernetes-models), unknown fields (the manifests type-checked against the same models'
// types, as kubectl's strict field validation would refuse them), the compose spec's schema and
// lint rules (dclint), a Dockerfile linter (dockerfile-utils) and this project's rules over its
// syntax tree (dockerfile-ast), and the references between them all: the environment each member
// gets parses through env-config.ts into a valid configuration whose ports are the ones exposed.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DCLinter } from 'dclint';
import { type Copy, DockerfileParser, type Env, type Instruction } from 'dockerfile-ast';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigError, readPeerSecret, resolveConfig, type ServerConfig } from '../src/config.js';
import { healthUrl } from '../src/health-command.js';

const root = join(import.meta.dirname, '..', '..', '..');
const deployDir = join(root, 'deploy');
const kubernetesDir = join(deployDir, 'kubernetes');

// biome-ignore lint/suspicious/noExplicitAny: manifests are plain parsed YAML, checked by the schemas below.
type Manifest = Record<string, any>;

/**
 * MODELS: the kinds deploy/kubernetes may hold, each with its kubernetes-models class (schema
 * validation) and the module of its TypeScript interface (unknown fields).
 */
const MODELS: Record<string, { model: new (data: never) => { validate(): void }; module: string; type: string }> = {
  'apps/v1 StatefulSet': { model: StatefulSet, module: 'kubernetes-models/apps/v1/StatefulSet', type: 'IStatefulSet' },
  'v1 Service': { model: Service, module: 'kubernetes-models/v1/Service', type: 'IService' },
  'v1 Secret': { model: Secret, module: 'kubernetes-models/v1/Secret', type: 'ISecret' },
  'v1 ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'policy/v1 PodDisruptionBudget': {
    model: PodDisruptionBudget,
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    type: 'IPodDisruptionBudget',
  },
};

/** manifests: every document of every YAML file in deploy/kubernetes but the kustomization, read as YAML 1.1 as Kubernetes does (0440 is octal). */
const manifestFiles = readdirSync(kubernetesDir)
  .filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml')
  .sort();
const manifests: { file: string; doc: Manifest }[] = manifestFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(kubernetesDir, file), 'utf8'), { version: '1.1' }).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
    return { file, doc: document.toJS() as Manifest };
  }),
);
const kindOf = (doc: Manifest) => `${doc.apiVersion} ${doc.kind}`;
const one = (kind: string, predicate: (doc: Manifest) => boolean = () => true): Manifest => {
  const found = manifests.filter(({ doc }) => kindOf(doc) === kind && predicate(doc));
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0]?.doc as Manifest;
};

/** dockerfile: deploy/Dockerfile's instructions, and those of its last stage (the image). */
const dockerfileText = readFileSync(join(deployDir, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(dockerfileText);
const instructions = dockerfile.getInstructions();
const lastFrom = instructions.map((instruction) => instruction.getKeyword()).lastIndexOf('FROM');
const imageInstructions = instructions.slice(lastFrom);
const keyword = (list: Instruction[], name: string) => list.filter((instruction) => instruction.getKeyword() === name);
/** imageEnv: the ENV of the image (its last stage): the defaults a container's environment overrides. */
const imageEnv: Record<string, string> = Object.fromEntries(
  keyword(imageInstructions, 'ENV').flatMap((env) =>
    (env as Env).getProperties().map((property) => [property.getName(), property.getValue() ?? '']),
  ),
);
const imageUser = keyword(imageInstructions, 'USER')[0]?.getArgumentsContent() ?? '';

/** expandKubernetes expands `$(VAR)` in an env value from the variables defined before it, as the kubelet does (`$$` is a literal `$`). */
function expandKubernetes(value: string, defined: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) =>
    name === undefined ? '$' : (defined[name] ?? match),
  );
}

describe('deploy/kubernetes', () => {
  const statefulSet = one('apps/v1 StatefulSet');
  const pod = statefulSet.spec.template;
  const container = pod.spec.containers[0];
  const containerPort = (name: string): number => {
    const port = container.ports.find((entry: Manifest) => entry.name === name);
    expect(port, `container port ${name}`).toBeDefined();
    return port.containerPort;
  };
  const headless = one('v1 Service', (doc) => doc.spec.clusterIP === 'None');

  it('holds only kinds it knows, and kustomization.yaml deploys every file', () => {
    for (const { file, doc } of manifests) expect(MODELS, `${file}: ${kindOf(doc)}`).toHaveProperty([kindOf(doc)]);
    const kustomization = parseYaml(readFileSync(join(kubernetesDir, 'kustomization.yaml'), 'utf8'));
    expect([...kustomization.resources].sort()).toEqual(manifestFiles);
    const image = container.image.split(':');
    expect(kustomization.images).toContainEqual({ name: image[0], newTag: image[1] });
  });

  it.each(manifests.map(({ file, doc }) => [`${file} ${kindOf(doc)} ${doc.metadata?.name}`, doc]))(
    "%s is valid against Kubernetes' schema",
    (_name, doc) => {
      const { model } = MODELS[kindOf(doc)] as (typeof MODELS)[string];
      expect(() => new model(doc as never).validate()).not.toThrow();
    },
  );

  it('the schema validation is on: a wrong type is refused', () => {
    const broken = structuredClone(statefulSet);
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'peer';
    expect(() => new StatefulSet(broken).validate()).toThrow(/containerPort must be integer/);
  });

  it('has no unknown fields (a typo the API server would drop or refuse)', () => {
    expect(unknownFieldErrors(manifests)).toEqual([]);
    const typo = structuredClone(headless);
    typo.spec.publishNotReadyAdresses = typo.spec.publishNotReadyAddresses;
    expect(unknownFieldErrors([{ file: 'typo.yaml', doc: typo }]).join('\n')).toMatch(
      /typo\.yaml: v1 Service zabkit-peers: .*publishNotReadyAdresses.* does not exist in type 'IServiceSpec'/,
    );
  }, 60_000);

  it('the StatefulSet: stable names through its headless Service, parallel start, probes on the admin port', () => {
    expect(statefulSet.spec.serviceName).toBe(headless.metadata.name);
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect(statefulSet.spec.podManagementPolicy).toBe('Parallel');
    expect(pod.spec.enableServiceLinks).toBe(false);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health', port: 'admin' });
    expect(container.livenessProbe.httpGet.port).toBe('admin');
    expect(container.livenessProbe.httpGet.path).not.toBe('/health');
    expect(container.startupProbe.httpGet.port).toBe('admin');
    expect(statefulSet.spec.volumeClaimTemplates.map((claim: Manifest) => claim.metadata.name)).toContain('data');
    const volumes = [
      ...pod.spec.volumes.map((volume: Manifest) => volume.name),
      ...statefulSet.spec.volumeClaimTemplates.map((claim: Manifest) => claim.metadata.name),
    ];
    for (const mount of container.volumeMounts) expect(volumes, `volume of ${mount.mountPath}`).toContain(mount.name);
  });

  it('runs as the image user, never root, without privileges', () => {
    const [user, group] = imageUser.split(':').map(Number);
    expect(user).toBeGreaterThan(0);
    expect(pod.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: user,
      runAsGroup: group,
      fsGroup: group,
    });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    // A read-only root still needs a writable temporary directory (backups stage there).
    expect(container.volumeMounts.map((mount: Manifest) => mount.mountPath)).toContain('/tmp');
  });

  it("every selector picks the StatefulSet's pods, and every Service port targets a container port", () => {
    const labels = pod.metadata.labels;
    expect(labels).toMatchObject(statefulSet.spec.selector.matchLabels);
    for (const { doc } of manifests.filter(({ doc }) => doc.kind === 'Service')) {
      expect(labels, `${doc.metadata.name} selector`).toMatchObject(doc.spec.selector);
      for (const port of doc.spec.ports) {
        expect(
          container.ports.map((entry: Manifest) => entry.name),
          `${doc.metadata.name} ${port.name}`,
        ).toContain(port.targetPort);
      }
    }
    const budget = one('policy/v1 PodDisruptionBudget');
    expect(labels).toMatchObject(budget.spec.selector.matchLabels);
    expect(budget.spec.maxUnavailable).toBe(1);
    const clients = one('v1 Service', (doc) => doc.spec.clusterIP !== 'None');
    expect(clients.spec.ports.map((port: Manifest) => port.targetPort).sort()).toEqual(['client', 'zookeeper']);
  });

  it('mounts the Secret readable by the server group only, at ZABKIT_PEER_SECRET_FILE', () => {
    const secret = one('v1 Secret');
    const volume = pod.spec.volumes.find((entry: Manifest) => entry.secret?.secretName === secret.metadata.name);
    expect(volume.secret.defaultMode).toBe(0o440);
    const mount = container.volumeMounts.find((entry: Manifest) => entry.name === volume.name);
    expect(mount.readOnly).toBe(true);
    const file = container.env.find((entry: Manifest) => entry.name === 'ZABKIT_PEER_SECRET_FILE').value;
    const key = Object.keys(secret.stringData ?? secret.data)[0];
    expect(file).toBe(`${mount.mountPath}/${key}`);
  });

  it("the Secret's placeholder is refused by the server: no ensemble runs on it", () => {
    const secret = one('v1 Secret');
    const placeholder = Object.values(secret.stringData as Record<string, string>)[0] as string;
    const file = join(mkdtempSync(join(tmpdir(), 'zabkit-deploy-')), 'peer-secret');
    writeFileSync(file, placeholder);
    expect(() => readPeerSecret(file)).toThrow(ConfigError);
    expect(() => readPeerSecret(file)).toThrow(/the shared secret must be at least 32/);
  });

  it("each pod's environment parses into a valid member: its own id, the ensemble on the exposed ports", () => {
    const namespace = 'zabkit-test';
    const replicas: number = statefulSet.spec.replicas;
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const podName = `${statefulSet.metadata.name}-${ordinal}`;
      const env: Record<string, string> = { ...imageEnv };
      for (const entry of container.env) {
        const field = entry.valueFrom?.fieldRef?.fieldPath;
        env[entry.name] =
          field === 'metadata.namespace'
            ? namespace
            : field === 'metadata.name'
              ? podName
              : expandKubernetes(entry.value, env);
      }
      const config = resolveConfig([], { env, hostname: () => podName });
      expect(config.id).toBe(ordinal + 1);
      expect(config.members).toHaveLength(replicas);
      for (const [index, member] of config.members.entries()) {
        expect(member).toMatchObject({
          id: index + 1,
          host: `${statefulSet.metadata.name}-${index}.${headless.metadata.name}.${namespace}.svc.cluster.local`,
          peerPort: containerPort('peer'),
          clientPort: containerPort('client'),
          zookeeperPort: containerPort('zookeeper'),
          adminPort: containerPort('admin'),
          role: 'voter',
        });
      }
      expect(config.dataDir).toBe(container.volumeMounts.find((mount: Manifest) => mount.name === 'data').mountPath);
      expectReachableAdmin(config);
      expect(config.peerSecretFile).toBeDefined();
    }
    expect(headless.spec.ports.find((port: Manifest) => port.name === 'peer').port).toBe(containerPort('peer'));
  });
});

describe('deploy/Dockerfile', () => {
  it('passes dockerfile-utils (the linter of VS Code’s Docker support)', () => {
    expect(lintDockerfile(dockerfileText)).toEqual([]);
    // The linter is on: a broken file is reported.
    expect(lintDockerfile('FROM node:22\nEXPOSE http\nHEALTHCHECK CMD\n').length).toBeGreaterThan(0);
  });

  it('takes its base from ARG BASE_IMAGE, a pinned tag (never latest), in every stage', () => {
    const args = dockerfile.getInitialARGs().map((arg) => arg.getProperty());
    const base = args.find((property) => property?.getName() === 'BASE_IMAGE')?.getValue() ?? '';
    expect(base).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+(@sha256:[0-9a-f]{64})?$/);
    expect(base).not.toMatch(/:latest\b/);
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.getImage()).toMatch(/^\$\{BASE_IMAGE\}$/);
    expect(dockerfileText).not.toMatch(/:latest\b/);
  });

  it('adds nothing from a URL and copies the build output into the image stage', () => {
    for (const add of keyword(instructions, 'ADD')) expect(add.getArgumentsContent()).not.toMatch(/https?:\/\//);
    expect(keyword(instructions, 'ADD')).toEqual([]);
    const copies = keyword(imageInstructions, 'COPY') as Copy[];
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      expect(
        copy
          .getFlags()
          .find((flag) => flag.getName() === 'from')
          ?.getValue(),
      ).toBe('build');
    }
  });

  it('runs as a numeric non-root user, with a HEALTHCHECK by node itself and an exec-form entrypoint', () => {
    expect(imageUser).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    const order = imageInstructions.map((instruction) => instruction.getKeyword());
    expect(order.indexOf('USER')).toBeLessThan(order.indexOf('ENTRYPOINT'));
    const healthchecks = keyword(imageInstructions, 'HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]?.getArgumentsContent()).toMatch(/CMD \["node", "\/app\/dist\/bin\.js", "health"\]/);
    expect(dockerfileText).not.toMatch(/\b(curl|wget)\b/);
    expect(keyword(imageInstructions, 'ENTRYPOINT')[0]?.getArgumentsContent()).toMatch(/^\[/);
  });

  it('keeps the data directory in its VOLUME and exposes the ports the manifests use', () => {
    expect(keyword(imageInstructions, 'VOLUME')[0]?.getArgumentsContent()).toBe(`["${imageEnv.ZABKIT_DATA_DIR}"]`);
    const exposed = (keyword(imageInstructions, 'EXPOSE')[0]?.getArgumentsContent() ?? '').split(/\s+/).map(Number);
    const container = one('apps/v1 StatefulSet').spec.template.spec.containers[0];
    expect(exposed.sort()).toEqual(container.ports.map((port: Manifest) => port.containerPort).sort());
    // Client and admin ports listen beyond loopback, or nothing outside the container reaches them.
    expect(imageEnv).toMatchObject({ ZABKIT_CLIENT_HOST: '0.0.0.0', ZABKIT_ADMIN_HOST: '0.0.0.0' });
  });

  it('.dockerignore keeps dependencies, outputs, git and the local secret out of the build context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const pattern of ['**/node_modules', '**/dist', '.git', 'deploy/peer-secret'])
      expect(ignored).toContain(pattern);
  });
});

describe('deploy/compose.yaml', () => {
  const composeFile = join(deployDir, 'compose.yaml');
  const compose = parseYaml(readFileSync(composeFile, 'utf8'), { merge: true });
  const services = Object.entries(compose.services as Record<string, Manifest>);

  it('passes dclint: the compose spec schema and every rule', () => {
    // Every rule at its default but the quotes' style: biome formats YAML with double quotes.
    const rules = { 'require-quotes-in-ports': [2, { quoteType: 'double' }] } as const;
    const linter = new DCLinter({ rules, quiet: true, debug: false, exclude: [] });
    const [result] = linter.lintFiles([composeFile], false);
    expect(result?.messages.map((message) => `${message.line}: ${message.rule}: ${message.message}`)).toEqual([]);
    // The schema is on: an unknown service key is refused.
    const broken = join(mkdtempSync(join(tmpdir(), 'zabkit-compose-')), 'compose.yaml');
    writeFileSync(broken, 'services:\n  a:\n    image: zabkit-server:0.0.0\n    restartt: always\n');
    expect(linter.lintFiles([broken], false)[0]?.messages.map((message) => message.rule)).toContain('invalid-schema');
  });

  it("runs 3 members on one ensemble, each parsing into a valid member with the image's defaults", () => {
    expect(services).toHaveLength(3);
    const lists = new Set(services.map(([, service]) => service.environment.ZABKIT_MEMBERS));
    expect(lists.size).toBe(1);
    const secrets = Object.keys(compose.secrets);
    const volumes = Object.keys(compose.volumes);
    const ids = new Set<number>();
    for (const [name, service] of services) {
      const config = resolveConfig([], { env: { ...imageEnv, ...service.environment }, hostname: () => name });
      ids.add(config.id);
      const self = config.members.find((member) => member.id === config.id);
      expect(self?.host, `${name}: its member's host is its hostname`).toBe(service.hostname);
      expect(config.peerSecretFile).toBe(`/run/secrets/${secrets[0]}`);
      expect(service.secrets).toEqual(secrets);
      const [volume, target] = (service.volumes[0] as string).split(':');
      expect(volumes).toContain(volume);
      expect(target).toBe(config.dataDir);
      const published = (service.ports as string[]).map((port) => Number(port.split(':').at(-1)));
      expect(published.sort()).toEqual([self?.zookeeperPort, self?.clientPort, self?.adminPort].sort());
      for (const port of service.ports as string[]) expect(port).toMatch(/^127\.0\.0\.1:/);
      expect(service.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
      expectReachableAdmin(config);
    }
    expect([...ids].sort()).toEqual([1, 2, 3]);
  });
});

/** expectReachableAdmin: the admin port listens beyond loopback, and the image's HEALTHCHECK asks it on loopback. */
function expectReachableAdmin(config: ServerConfig): void {
  expect(config.adminHost).toBe('0.0.0.0');
  const self = config.members.find((member) => member.id === config.id);
  expect(healthUrl(config)).toBe(`http://127.0.0.1:${self?.adminPort}/health`);
}

/**
 * unknownFieldErrors type-checks each manifest as an object literal of its kubernetes-models
 * interface: TypeScript's excess property check names every field the Kubernetes API does not have
 * (the JSON schemas allow them; kubectl apply --validate=strict does not).
 */
function unknownFieldErrors(list: { file: string; doc: Manifest }[]): string[] {
  const fileName = join(import.meta.dirname, '__deploy_manifests__.ts');
  const lines = list.map(({ doc }, index) => {
    const { module, type } = MODELS[kindOf(doc)] as (typeof MODELS)[string];
    return `import type { ${type} as T${index} } from '${module}'; export const m${index}: T${index} = ${JSON.stringify(doc)};`;
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === fileName ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? source : readFile.call(host, name));
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const line =
      diagnostic.file && diagnostic.start !== undefined
        ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
        : -1;
    const entry = list[line];
    const where = entry ? `${entry.file}: ${kindOf(entry.doc)} ${entry.doc.metadata?.name}` : 'manifests';
    return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}
