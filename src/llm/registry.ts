// AI SDK language models for each configured provider and role. Every provider factory gets an
// explicit key, base URL and `fetch`, so the packages never fall back to reading process.env
// themselves and tests (and the per-call timeout's abort signal) reach every request.
import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';

import type { CompatibleSettings, LlmConfig, ProviderSettings } from './config.js';
import type { ModelRole, ProviderName } from './providers.js';

/** A language model object (never a gateway model id string). */
type Model = Exclude<LanguageModel, string>;

interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface RegistryDeps {
  /** Passed to every provider package; defaults to the global fetch. */
  fetch?: typeof globalThis.fetch;
  /**
   * Resolves AWS credentials for Bedrock when the environment holds no keys (SSO, profiles,
   * instance roles): e.g. `fromNodeProviderChain()` from @aws-sdk/credential-providers.
   */
  bedrockCredentialProvider?: () => PromiseLike<AwsCredentials>;
}

export interface ModelRegistry {
  /** Configured providers, in chain order. */
  readonly providers: readonly ProviderName[];
  modelId(provider: ProviderName, role: ModelRole): string;
  model(provider: ProviderName, role: ModelRole): Model;
  /** A named model of a configured provider (the judge's `--judge provider:model`). */
  modelById(provider: ProviderName, id: string): Model;
}

export class NoAwsCredentialsError extends Error {
  constructor() {
    super(
      'no AWS credentials for Bedrock: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_BEARER_TOKEN_BEDROCK',
    );
    this.name = 'NoAwsCredentialsError';
  }
}

function bedrockEndpoint(region: string): string {
  return `https://bedrock-runtime.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

const isCompatible = (s: ProviderSettings): s is CompatibleSettings =>
  s.name === 'openai-compatible' || s.name.startsWith('openai-compatible:');

function factoryFor(settings: ProviderSettings, deps: RegistryDeps): (modelId: string) => Model {
  const fetch = deps.fetch;
  if (isCompatible(settings)) {
    const s = settings;
    const p = createOpenAICompatible({
      name: 'openai-compatible',
      baseURL: s.baseURL,
      ...(s.apiKey ? { apiKey: s.apiKey.reveal() } : {}),
      fetch,
      includeUsage: true,
      // Ollama, vLLM and LM Studio accept response_format json_schema.
      supportsStructuredOutputs: true,
    });
    return (id) => p.chatModel(id);
  }
  switch (settings.name) {
    case 'openai': {
      const p = createOpenAI({ apiKey: settings.apiKey.reveal(), baseURL: settings.baseURL, fetch });
      return settings.api === 'chat' ? (id) => p.chat(id) : (id) => p.responses(id);
    }
    case 'anthropic': {
      const p = createAnthropic({ apiKey: settings.apiKey.reveal(), baseURL: settings.baseURL, fetch });
      return (id) => p.messages(id);
    }
    case 'google': {
      const p = createGoogleGenerativeAI({
        apiKey: settings.apiKey.reveal(),
        baseURL: settings.baseURL,
        fetch,
      });
      return (id) => p.languageModel(id);
    }
    case 'bedrock': {
      const c = settings.credentials;
      const p = createAmazonBedrock({
        region: settings.region,
        baseURL: settings.baseURL ?? bedrockEndpoint(settings.region),
        fetch,
        // An empty apiKey keeps the package from reading AWS_BEARER_TOKEN_BEDROCK itself.
        ...(c.kind === 'bearer'
          ? { apiKey: c.token.reveal() }
          : c.kind === 'keys'
            ? {
                apiKey: '',
                accessKeyId: c.accessKeyId.reveal(),
                secretAccessKey: c.secretAccessKey.reveal(),
                ...(c.sessionToken ? { sessionToken: c.sessionToken.reveal() } : {}),
              }
            : {
                apiKey: '',
                credentialProvider:
                  deps.bedrockCredentialProvider ?? (() => Promise.reject(new NoAwsCredentialsError())),
              }),
      });
      return (id) => p.languageModel(id);
    }
  }
}

export function createModelRegistry(config: LlmConfig, deps: RegistryDeps = {}): ModelRegistry {
  const settings = new Map(config.providers.map((p) => [p.name, p]));
  const factories = new Map<ProviderName, (id: string) => Model>();
  const models = new Map<string, Model>();

  const get = (provider: ProviderName): ProviderSettings => {
    const s = settings.get(provider);
    if (!s) throw new Error(`LLM provider ${provider} is not configured`);
    return s;
  };

  const modelById = (provider: ProviderName, id: string): Model => {
    const key = `${provider}\u0000${id}`;
    let m = models.get(key);
    if (!m) {
      let make = factories.get(provider);
      if (!make) {
        make = factoryFor(get(provider), deps);
        factories.set(provider, make);
      }
      m = make(id);
      models.set(key, m);
    }
    return m;
  };

  return {
    providers: config.providers.map((p) => p.name),
    modelId: (provider, role) => get(provider).models[role],
    model: (provider, role) => modelById(provider, get(provider).models[role]),
    modelById,
  };
}
