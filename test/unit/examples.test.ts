import { afterEach, describe, expect, it } from '@jest/globals';
import { createReadStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readCsv } from '../../producers/csv-reader.js';
import { EngageLabClient, type TemplateInfo } from '../../src/engagelab/client.js';
import type { Message } from '../../src/messages/schema.js';
import { validateMessage } from '../../src/messages/validate.js';
import { templateProblem } from '../../src/preflight/templates.js';
import { Simulator } from '../../src/simulator/simulator.js';

/** The rehearsal's templates (examples/templates.json, the compose simulator's default) against the example campaign. */

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

let sim: Simulator | undefined;
let client: EngageLabClient | undefined;
afterEach(async () => {
  client?.close();
  await sim?.stop();
  sim = client = undefined;
});

async function exampleCampaign(template: string, language: string): Promise<Message[]> {
  const messages: Message[] = [];
  for await (const item of readCsv(createReadStream(example('campaign.csv')), { template, language })) {
    const checked = validateMessage(item.value);
    if (!checked.ok) throw new Error(`line ${item.line}: ${checked.error}`);
    messages.push(checked.message);
  }
  return messages;
}

/** What preflight says of a template message, asking the simulator as it asks EngageLab. */
async function preflightSays(message: Message): Promise<string | undefined> {
  if (message.body.type !== 'template') throw new Error('not a template message');
  const { name, language } = message.body.template;
  const found = await (client as EngageLabClient).listTemplates({ name, language_code: language });
  return templateProblem(
    message.body.template,
    found.find((t) => t.name === name && t.language === language),
  );
}

describe('examples/templates.json', () => {
  it("knows the example campaign's template, so a rehearsal of it passes preflight and is sent; a misspelt one is caught", async () => {
    const templates = JSON.parse(readFileSync(example('templates.json'), 'utf8')) as TemplateInfo[];
    sim = new Simulator({ key: 'k', secret: 's', templateCatalog: templates });
    const url = await sim.start();
    client = new EngageLabClient({
      baseUrl: url,
      key: 'k',
      secret: 's',
      timeoutMs: 5000,
      retries: 0,
      minRetryMs: 0,
      maxRetryMs: 0,
    });

    const campaign = await exampleCampaign('order_update', 'en_US');
    expect(campaign.length).toBeGreaterThan(2);
    for (const message of campaign) {
      expect(await preflightSays(message)).toBeUndefined();
      await expect(client.send(message)).resolves.toMatchObject({ messageId: expect.any(String) });
    }

    const [misspelt] = await exampleCampaign('order_updates', 'en_US');
    expect(await preflightSays(misspelt as Message)).toBe(
      "template order_updates (en_US) does not exist in EngageLab's templates",
    );
    await expect(client.send(misspelt as Message)).rejects.toMatchObject({ code: 4001 });
  });
});
