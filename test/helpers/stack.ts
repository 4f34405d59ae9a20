import { afterAll, afterEach } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import type { Config, ConfigInput } from '../../src/config.js';
import { freePort } from '../../src/dev/redis-server.js';
import { startDashboard, type Dashboard } from '../../src/http/dashboard.js';
import type { Logger } from '../../src/log.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/simulator.js';
import { startSendWorker, type SendWorker } from '../../workers/send-worker.js';
import { startCli } from './cli.js';
import { KEY, SECRET, envOf, harness, silentLogger, startSimulator, testConfig, type Harness } from './env.js';

/**
 * The running parts of one integration test: the simulator, the test's Redis handles, dashboards, in-process
 * send workers and `wa-bulk` processes, each started on request and all ended by one stop(), which
 * useStack() runs after every test. The order of the stop is fixed: processes killed first, then the send
 * workers, the dashboards, the simulator, whatever the test handed to defer(), the Redis handles (whose
 * close deletes the test's keys once nothing writes them any more), and last what deferLast() was given.
 */

/** How a file starts its dashboard: src/http/dashboard.ts's, or test/helpers/contract.ts's (answers checked). */
export type DashboardStarter = (config: Config, log: Logger) => Promise<Dashboard>;

export interface StackOptions {
  /**
   * Starts the simulator with these options; its URL is the config's ENGAGELAB_BASE_URL. A function is given
   * the dashboard's URL (chosen before either starts), for a simulator that posts callbacks to it.
   */
  simulator?: Partial<SimulatorOptions> | ((dashboardUrl: string) => Partial<SimulatorOptions>);
  /** The test's own settings, over testConfig's (and over the simulator's URL and the dashboard's port). */
  config?: ConfigInput;
  /** Starts a dashboard on a free port (DASHBOARD_PORT), with src/http/dashboard.ts's starter or the one given. */
  dashboard?: true | DashboardStarter;
  /** Starts an in-process send worker with the config, once the rest is up. */
  worker?: boolean;
}

type Started = Awaited<ReturnType<typeof startCli>>;

export class Stack {
  private readonly processes: ChildProcess[] = [];
  private readonly workers: SendWorker[] = [];
  private readonly dashboards: Dashboard[] = [];
  private readonly deferred: Array<() => unknown> = [];
  private readonly harnesses: Harness[] = [];
  private readonly underneath: Array<() => unknown> = [];
  private simulator: Simulator | undefined;
  private started: Config | undefined;

  /** Starts what `options` ask for, in the order the parts depend on each other; returns the stack. */
  async start(options: StackOptions = {}): Promise<this> {
    const wantsPort = options.dashboard !== undefined || typeof options.simulator === 'function';
    const port = wantsPort ? (options.config?.DASHBOARD_PORT ?? (await freePort())) : undefined;
    if (options.simulator !== undefined) {
      const simulator = options.simulator;
      await this.startSimulator(
        typeof simulator === 'function' ? simulator(`http://127.0.0.1:${String(port)}`) : simulator,
      );
    }
    const config = testConfig({
      ...(this.simulator && { ENGAGELAB_BASE_URL: this.simulator.url }),
      ...(port !== undefined && { DASHBOARD_PORT: port }),
      ...options.config,
    });
    this.harness(config);
    if (options.dashboard !== undefined)
      await this.startDashboard(config, options.dashboard === true ? startDashboard : options.dashboard);
    if (options.worker) await this.startWorker(config);
    return this;
  }

  /** The simulator with these options (the test key and secret, seed 42 unless given). */
  async startSimulator(options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
    if (this.simulator) throw new Error('this test has a simulator already');
    this.simulator = await startSimulator(options);
    return this.simulator;
  }

  /**
   * The simulator in a process of its own (`wa-bulk simulator`, the test key and secret, these arguments
   * beside), so that the arrival times it records are not held up by jest; its URL.
   */
  async startSimulatorProcess(args: string[] = []): Promise<string> {
    const port = await freePort();
    await this.startCli(
      ['simulator', '--port', String(port), '--key', KEY, '--secret', SECRET, ...args],
      { PATH: process.env.PATH, LOG_LEVEL: 'info' },
      'simulator listening',
    );
    return `http://127.0.0.1:${port}`;
  }

  /** Redis handles for a config (the latest are `h`, and their config `config`). */
  harness(config: Config): Harness {
    this.started = config;
    const handles = harness(config);
    this.harnesses.push(handles);
    return handles;
  }

  async startDashboard(
    config: Config = this.config,
    start: DashboardStarter = startDashboard,
    log: Logger = silentLogger(),
  ): Promise<Dashboard> {
    const dashboard = await start(config, log);
    this.dashboards.push(dashboard);
    return dashboard;
  }

  async startWorker(config: Config = this.config, log: Logger = silentLogger()): Promise<SendWorker> {
    const worker = await startSendWorker(config, log);
    this.workers.push(worker);
    return worker;
  }

  /** A long-running `wa-bulk` command (startCli), killed at the stop if it is still running. */
  async startCli(...args: Parameters<typeof startCli>): Promise<Started> {
    const started = await startCli(...args);
    this.processes.push(started.child);
    return started;
  }

  /**
   * Something else the test opened, closed after the simulator and before the Redis handles; the last one
   * handed over is closed first.
   */
  defer(close: () => unknown): void {
    this.deferred.push(close);
  }

  /** Something the Redis handles stand on (a private Redis server): stopped last, after them. */
  deferLast(stop: () => unknown): void {
    this.underneath.push(stop);
  }

  /** The config start() made, or harness() was given, last. */
  get config(): Config {
    if (!this.started) throw new Error('this test has no config: start() makes one');
    return this.started;
  }

  /** The environment of a `wa-bulk` process with that config. */
  get env(): NodeJS.ProcessEnv {
    return envOf(this.config);
  }

  get h(): Harness {
    return this.latest(this.harnesses, 'Redis handles');
  }

  get sim(): Simulator {
    if (!this.simulator) throw new Error('this test started no simulator');
    return this.simulator;
  }

  get dashboard(): Dashboard {
    return this.latest(this.dashboards, 'dashboard');
  }

  get worker(): SendWorker {
    return this.latest(this.workers, 'send worker');
  }

  /** The one of its kind started last. */
  private latest<T>(list: T[], what: string): T {
    const item = list.at(-1);
    if (item === undefined) throw new Error(`this test started no ${what}`);
    return item;
  }

  async stop(): Promise<void> {
    for (const child of this.processes.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const worker of this.workers.splice(0)) await worker.close();
    for (const dashboard of this.dashboards.splice(0)) await dashboard.close();
    await this.simulator?.stop();
    this.simulator = undefined;
    for (const close of this.deferred.splice(0).reverse()) await close();
    for (const handles of this.harnesses.splice(0)) await handles.close();
    for (const stop of this.underneath.splice(0).reverse()) await stop();
    this.started = undefined;
  }
}

/** A stack for each test of the file, stopped after it. */
export function useStack(): Stack {
  const stack = new Stack();
  afterEach(() => stack.stop());
  return stack;
}

/** One stack for the whole file (its tests share what a beforeAll started), stopped after its last test. */
export function useFileStack(): Stack {
  const stack = new Stack();
  afterAll(() => stack.stop());
  return stack;
}
