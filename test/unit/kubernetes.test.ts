import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { configSchema } from '../../src/config.js';
import { CALLBACK_QUEUE, DEFAULT_LANE, laneQueueName } from '../../src/queue.js';
import { keys } from '../../src/redis/keys.js';
import { requireTool } from '../helpers/tools.js';

/**
 * deploy/kubernetes renders with `kubectl kustomize` (no cluster needed), alone and with the KEDA overlay, and
 * every object it renders validates against the Kubernetes API's schemas (kubernetes-models) or KEDA's CRD
 * schemas (@kubernetes-models/keda). Those schemas accept unknown fields, so what matters is also asserted
 * field by field: probes, grace period, security context, and the queue keys the KEDA triggers read.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KUBERNETES = join(ROOT, 'deploy/kubernetes');
/** The worker's own limit on a stop after SIGTERM, beyond HTTP_TIMEOUT_MS (src/cli/commands/worker.ts). */
const WORKER_STOP_BACKSTOP_MS = 10_000;
const LANE = '8613800138000';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // Each kind's own fields, checked against its schema by validate().
  [field: string]: unknown;
}

/** The schema of every kind the manifests may hold: constructing the model and validate() checks the object. */
const MODELS: Record<string, (object: K8sObject) => { validate(): void }> = {
  'v1/ConfigMap': (o) => new ConfigMap(o as never),
  'v1/Service': (o) => new Service(o as never),
  'apps/v1/Deployment': (o) => new Deployment(o as never),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never),
  'keda.sh/v1alpha1/ScaledObject': (o) => new ScaledObject(o as never),
  'keda.sh/v1alpha1/TriggerAuthentication': (o) => new TriggerAuthentication(o as never),
};

function validate(object: K8sObject): void {
  const model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  model(object).validate();
}

const kubectl = requireTool(
  'kubectl',
  'not in Debian: install it from the Kubernetes project',
  'the Kubernetes manifests tests',
  false,
);
const suite = kubectl ? describe : describe.skip;

function render(dir: string): K8sObject[] {
  const result = spawnSync(kubectl as string, ['kustomize', dir], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: '/dev/null' },
  });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as K8sObject);
}

const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind} ${o.metadata.name}`).join(', ')}`);
  return found;
};

interface Container {
  name: string;
  args?: string[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { tcpSocket?: { port: string }; httpGet?: unknown };
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  image: string;
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}
const podOf = (deployment: K8sObject) =>
  (deployment.spec as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }).template;

interface Trigger {
  type: string;
  metadata: { address?: string; listName: string; listLength: string };
  authenticationRef?: { name: string };
}
const triggersOf = (scaled: K8sObject) => (scaled.spec as { triggers: Trigger[] }).triggers;

suite('deploy/kubernetes', () => {
  const base = render(KUBERNETES);
  const config = base.find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
  const prefix = config.data.QUEUE_PREFIX ?? (configSchema.shape.QUEUE_PREFIX.parse(undefined) as string);

  it('renders the workers, the dashboards, their Service and disruption budgets and the ConfigMap, all valid', () => {
    expect(base.map((o) => `${o.kind} ${o.metadata.name}`).sort()).toEqual([
      `ConfigMap ${config.metadata.name}`,
      'Deployment wa-bulk-dashboard',
      'Deployment wa-bulk-worker',
      'PodDisruptionBudget wa-bulk-dashboard',
      'PodDisruptionBudget wa-bulk-worker',
      'Service wa-bulk-dashboard',
    ]);
    for (const object of base) validate(object);
  });

  it('would reject an object that breaks its schema', () => {
    const broken = structuredClone(find(base, 'Deployment', 'wa-bulk-dashboard'));
    (podOf(broken).spec.containers[0]?.ports?.[0] as { containerPort: unknown }).containerPort = 'three thousand';
    expect(() => validate(broken)).toThrow(/containerPort must be integer/);
  });

  it('sets only variables of the configuration in the ConfigMap, and no secret', () => {
    const variables = Object.keys(configSchema.shape);
    expect(Object.keys(config.data).filter((name) => !variables.includes(name))).toEqual([]);
    for (const secret of ['REDIS_URL', 'ENGAGELAB_DEV_SECRET', 'DASHBOARD_PASSWORD', 'CALLBACK_TOKEN', 'DATABASE_URL'])
      expect(config.data).not.toHaveProperty(secret);
  });

  it.each(['wa-bulk-worker', 'wa-bulk-dashboard'])(
    '%s runs the pinned image as a non-root user on a read-only root, with the ConfigMap, the Secret and resource requests',
    (name) => {
      const pod = podOf(find(base, 'Deployment', name)).spec;
      const [container] = pod.containers;
      expect(container?.image).toMatch(/^wa-bulk:\d+\.\d+\.\d+$/);
      expect(container?.args).toEqual([name === 'wa-bulk-worker' ? 'worker' : 'dashboard']);
      expect(container?.envFrom).toEqual([
        { configMapRef: { name: config.metadata.name } },
        { secretRef: { name: 'wa-bulk' } },
      ]);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(container?.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(container?.resources?.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container?.resources?.limits?.memory).toEqual(expect.any(String));
    },
  );

  it('gives a stopping worker longer than its longest request in flight, and its own backstop, before SIGKILL', () => {
    const pod = podOf(find(base, 'Deployment', 'wa-bulk-worker')).spec;
    const httpTimeoutMs = Number(config.data.HTTP_TIMEOUT_MS ?? configSchema.shape.HTTP_TIMEOUT_MS.parse(undefined));
    expect((pod.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThanOrEqual(
      httpTimeoutMs + WORKER_STOP_BACKSTOP_MS + 10_000,
    );
    // A worker serves no HTTP: no port, no HTTP probe.
    expect(pod.containers[0]?.ports).toBeUndefined();
    expect(pod.containers[0]?.readinessProbe).toBeUndefined();
    expect(pod.containers[0]?.livenessProbe).toBeUndefined();
  });

  it('has the dashboards ready on /healthz at DASHBOARD_PORT, alive while they accept connections, behind the Service', () => {
    const dashboard = podOf(find(base, 'Deployment', 'wa-bulk-dashboard'));
    const [container] = dashboard.spec.containers;
    expect(container?.ports).toEqual([{ name: 'http', containerPort: Number(config.data.DASHBOARD_PORT) }]);
    expect(config.data.DASHBOARD_HOST).toBe('0.0.0.0');
    expect(container?.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container?.livenessProbe?.tcpSocket).toEqual({ port: 'http' });
    expect(container?.livenessProbe?.httpGet).toBeUndefined();
    const service = find(base, 'Service', 'wa-bulk-dashboard').spec as {
      selector: Record<string, string>;
      ports: Array<{ targetPort: string }>;
    };
    expect(dashboard.metadata.labels).toMatchObject(service.selector);
    expect(service.ports.map((p) => p.targetPort)).toEqual(['http']);
  });

  it.each(['wa-bulk-worker', 'wa-bulk-dashboard'])(
    'keeps one %s through a voluntary disruption, and selects only those pods',
    (name) => {
      const budget = find(base, 'PodDisruptionBudget', name).spec as {
        minAvailable: number;
        selector: { matchLabels: Record<string, string> };
      };
      expect(budget.minAvailable).toBe(1);
      for (const deployment of base.filter((o) => o.kind === 'Deployment'))
        expect([deployment.metadata.name, podOf(deployment).metadata.labels]).toEqual([
          deployment.metadata.name,
          deployment.metadata.name === name
            ? expect.objectContaining(budget.selector.matchLabels)
            : expect.not.objectContaining(budget.selector.matchLabels),
        ]);
    },
  );

  describe('with KEDA (overlays/keda)', () => {
    const keda = render(join(KUBERNETES, 'overlays/keda'));
    const bull = keys(prefix).bull;

    it('renders the base, two ScaledObjects and their TriggerAuthentication, all valid against their schemas', () => {
      expect(
        keda
          .filter((o) => o.apiVersion.startsWith('keda.sh/'))
          .map((o) => `${o.kind} ${o.metadata.name}`)
          .sort(),
      ).toEqual([
        'ScaledObject wa-bulk-dashboard',
        'ScaledObject wa-bulk-worker',
        'TriggerAuthentication wa-bulk-redis',
      ]);
      for (const object of keda) validate(object);
      const auth = find(keda, 'TriggerAuthentication', 'wa-bulk-redis').spec as {
        secretTargetRef: Array<{ name: string; key: string; parameter: string }>;
      };
      expect(auth.secretTargetRef).toEqual([{ parameter: 'password', name: 'wa-bulk', key: 'REDIS_PASSWORD' }]);
    });

    it("scales the workers on the default lane's wait list and prioritized set, never to zero", () => {
      const scaled = find(keda, 'ScaledObject', 'wa-bulk-worker');
      const spec = scaled.spec as {
        scaleTargetRef: { name: string };
        minReplicaCount: number;
        maxReplicaCount: number;
      };
      expect(find(keda, 'Deployment', spec.scaleTargetRef.name)).toBeDefined();
      expect(spec.scaleTargetRef.name).toBe('wa-bulk-worker');
      expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(spec.maxReplicaCount).toBeGreaterThanOrEqual(spec.minReplicaCount);
      const queue = laneQueueName(DEFAULT_LANE);
      expect(triggersOf(scaled).map((t) => [t.type, t.metadata.listName, t.authenticationRef?.name])).toEqual([
        ['redis', bull(queue, 'wait'), 'wa-bulk-redis'],
        ['redis', bull(queue, 'prioritized'), 'wa-bulk-redis'],
      ]);
    });

    it("scales the dashboards on the delivery callbacks' queue", () => {
      const scaled = find(keda, 'ScaledObject', 'wa-bulk-dashboard');
      expect((scaled.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name).toBe('wa-bulk-dashboard');
      expect(triggersOf(scaled).map((t) => t.metadata.listName)).toEqual([bull(CALLBACK_QUEUE, 'wait')]);
    });

    describe("the operations guide's overlay for a sending number", () => {
      const scratch = mkdtempSync(join(tmpdir(), 'wa-bulk-kustomize-'));
      afterAll(() => rmSync(scratch, { recursive: true, force: true }));

      it("adds that number's wait list and prioritized set to the workers' triggers", () => {
        const guide = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
        const block = (first: string) => {
          const found = [...guide.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].find((m) => m[1]?.startsWith(first));
          if (!found) throw new Error(`no yaml block starting "${first}" in docs/operations.md`);
          return found[1] as string;
        };
        // deploy/kubernetes/overlays/<yours>, laid out with links to the repository's base and components.
        const overlay = join(scratch, 'overlays', 'mine');
        mkdirSync(overlay, { recursive: true });
        symlinkSync(join(KUBERNETES, 'base'), join(scratch, 'base'));
        symlinkSync(join(KUBERNETES, 'components'), join(scratch, 'components'));
        writeFileSync(join(overlay, 'lanes.yaml'), block('# lanes.yaml'));
        writeFileSync(join(overlay, 'kustomization.yaml'), block('# kustomization.yaml'));
        const rendered = render(overlay);
        for (const object of rendered) validate(object);
        const names = triggersOf(find(rendered, 'ScaledObject', 'wa-bulk-worker')).map((t) => t.metadata.listName);
        const queue = laneQueueName(LANE);
        expect(names).toEqual([
          bull(laneQueueName(DEFAULT_LANE), 'wait'),
          bull(laneQueueName(DEFAULT_LANE), 'prioritized'),
          bull(queue, 'wait'),
          bull(queue, 'prioritized'),
        ]);
      });
    });
  });
});
