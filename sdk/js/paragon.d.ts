// Type declarations for Patchbay's JavaScript SDK (paragon.js).

export type CredentialStatus = 'PENDING' | 'VALID' | 'INVALID';

export interface WorkflowState {
  enabled: boolean;
  settings: Record<string, unknown>;
}

/**
 * One configuration of an account: a set of user settings and workflow choices. Every account
 * has a default one; `createConfiguration` adds more.
 */
export interface CredentialConfiguration {
  id: string;
  /** The account it belongs to (also as `connectCredentialId`). */
  credentialId: string;
  connectCredentialId: string;
  isDefault: boolean;
  /** Your label for it; `ext:<externalId>` names it wherever a configuration id is taken. */
  externalId: string | null;
  meta: Record<string, unknown>;
  /** A set `password` setting reads `"********"`; sending that back keeps it. */
  sharedSettings: Record<string, unknown>;
  /** The same as `sharedSettings`. */
  settings: Record<string, unknown>;
  workflowSettings: Record<string, WorkflowState>;
  /** The same as `workflowSettings`. */
  configuredWorkflows: Record<string, WorkflowState>;
  dateCreated: string;
  dateUpdated: string;
}

/** Paragon's `config` of a credential: its configuration, workflows as `configuredWorkflows`. */
export interface CredentialConfig {
  id: string;
  connectCredentialId: string;
  isDefault: boolean;
  externalId: string | null;
  sharedSettings: Record<string, unknown>;
  configuredWorkflows: Record<string, WorkflowState>;
  dateCreated: string;
  dateUpdated: string;
}

/** One connected account. Never carries a token. */
export interface ConnectCredential {
  id: string;
  projectId: string;
  integrationId: string;
  personaId: string;
  externalId: string | null;
  providerId: string | null;
  providerData: Record<string, unknown>;
  status: CredentialStatus;
  isPreviewCredential: boolean;
  dateCreated: string;
  dateUpdated: string;
  dateRefreshed: string | null;
  dateValidUntil: string | null;
  refreshFailureCount: number;
  /** Always `null`: a disconnected account is deleted. */
  dateDeleted: string | null;
  configurations: CredentialConfiguration[];
  config: CredentialConfig;
}

/** One integration as the user sees it; the top-level fields describe the default account. */
export interface IntegrationState {
  enabled: boolean;
  credentialId?: string;
  credentialStatus?: CredentialStatus;
  providerId?: string;
  providerData?: Record<string, unknown>;
  allCredentials: ConnectCredential[];
  allConfigurations: CredentialConfiguration[];
  sharedSettings: Record<string, unknown>;
  workflowSettings: Record<string, WorkflowState>;
  configuredWorkflows: Record<string, WorkflowState>;
}

export interface AuthenticatedConnectUser {
  authenticated: true;
  userId: string;
  meta: Record<string, unknown>;
  resources: unknown[];
  integrations: Record<string, IntegrationState>;
}

export interface UnauthenticatedConnectUser {
  authenticated: false;
}

export type ConnectUser = AuthenticatedConnectUser | UnauthenticatedConnectUser;

export type UserSettingType =
  | 'text'
  | 'textarea'
  | 'number'
  | 'boolean'
  | 'switch'
  | 'select'
  | 'email'
  | 'url'
  | 'password'
  | 'dynamic_select'
  | 'combo'
  | 'field_mapping';

/** Where a dynamic setting's options come from: a request to the integration's API as the account. */
export interface OptionSource {
  method?: string;
  path: string;
  query?: Record<string, string>;
  items: string;
  value: string;
  label: string;
  nextCursor?: string;
}

export interface UserSetting {
  id: string;
  type: UserSettingType;
  title: string;
  description?: string;
  required?: boolean;
  default?: unknown;
  /** The choices of a `select`. */
  options?: string[];
  pattern?: string;
  /** `dynamic_select`, `combo` (its first value), `field_mapping` (the integration's fields). */
  source?: OptionSource;
  /** A `combo`'s second value, listed for the first one chosen (`main`). */
  dependent?: { title: string; source: OptionSource };
  /** A `field_mapping`'s application fields: the keys of its value. */
  fields?: Array<{ value: string; label: string }>;
}

/** A `combo` setting's value. */
export interface ComboValue {
  main: string;
  dependent: string;
}

/** One option of a dynamic setting. */
export interface FieldOption {
  label: string;
  value: string;
}

export interface FieldOptionsPage {
  data: FieldOption[];
  /** Pass as `cursor` for the next page; `null` on the last one. */
  nextCursor: string | null;
  /** Paragon's name for `nextCursor`. */
  nextPageCursor: string | null;
}

export interface GetFieldOptionsOptions {
  integration: string;
  /** The setting's id. */
  field: string;
  /** For a workflow's own setting (one of its `inputs`). */
  workflowId?: string;
  search?: string;
  cursor?: string | null;
  /** A combo's first value: lists its second value's options. */
  main?: string;
  selectedCredentialId?: CredentialSelection;
}

/** What the Connect Portal shows of an integration, as the project customised it. */
export interface PortalCustomisation {
  /** `#RRGGBB`, or `null` for Patchbay's own. */
  accentColor: string | null;
  /** The integration's overview, Markdown rendered to sanitised HTML on the server. */
  overviewHtml: string | null;
  /** The workflows this user may see, in display order, each with its help text. */
  workflows: Array<{ id: string; help: string | null }>;
}

export interface IntegrationMetadata {
  id: string;
  type: string;
  name: string;
  description: string | null;
  /** An icon URL from the integration's configuration. */
  icon: string | null;
  /** The provider's brand colour, `#RRGGBB`, from the provider catalogue. */
  brandColor: string | null;
  authType: 'oauth2' | 'api_key' | 'basic' | 'oauth2_client_credentials' | 'jwt_bearer';
  credentialFields: Array<{ id: string; title: string; secret?: boolean }>;
  connectionFields: Array<{ id: string; title: string }>;
  userSettings: UserSetting[];
  workflows: Array<{ id: string; description: string | null; defaultEnabled: boolean; inputs: UserSetting[] }>;
  /** The ways in of an integration that has several; the fields above describe the first. */
  accountTypes: AccountType[];
  /** The Connect Portal's customisation for this user. */
  portal?: PortalCustomisation;
}

/** One way in to an integration, as `accountType` (install option or `installFlow` stage) names it. */
export interface AccountType {
  id: string;
  name: string;
  accountDescription: string;
  authType: IntegrationMetadata['authType'];
  credentialFields: IntegrationMetadata['credentialFields'];
  connectionFields: IntegrationMetadata['connectionFields'];
}

export type SdkEventName =
  | 'onIntegrationInstall'
  | 'onIntegrationUninstall'
  | 'onWorkflowChange'
  | 'onCredentialChange'
  | 'onPortalOpen'
  | 'onPortalClose';

/** The payload of install, uninstall and credential events. */
export interface IntegrationEvent {
  integrationId: string;
  integrationType: string;
  credentialId: string;
  credential?: ConnectCredential;
}

export interface WorkflowChangeEvent {
  integrationId: string;
  workflowId: string;
  credentialId: string;
  workflowStateChange: { enabled?: boolean; settings?: Record<string, unknown> };
}

export interface PortalEvent {
  integrationType: string;
}

export interface SdkEventPayloads {
  onIntegrationInstall: IntegrationEvent;
  onIntegrationUninstall: IntegrationEvent;
  onCredentialChange: IntegrationEvent;
  onWorkflowChange: WorkflowChangeEvent;
  onPortalOpen: PortalEvent;
  onPortalClose: PortalEvent;
}

export type SdkEventListener<E extends SdkEventName> = (
  payload: SdkEventPayloads[E],
  user: ConnectUser,
) => void;

/** A credential id, `ext:<externalId>` or a plain externalId. */
export type CredentialSelection = string;

export interface InstallIntegrationOptions {
  /** Paragon's name for `redirectUrl`: navigate this page to the provider and back to this URL, no popup. */
  overrideRedirectUrl?: string;
  /** How long to wait for the provider's authorization, in milliseconds (10 minutes by default). */
  oauthTimeout?: number;
  /** Connect another account although the user already has a valid one. */
  allowMultipleCredentials?: boolean;
  /** Reconnect (replace) this account, keeping its id, settings and workflows. */
  selectedCredentialId?: CredentialSelection;
  /** A label for the new account, unique per user and integration. */
  externalId?: string;
  /** API-key or basic-auth fields, by id (no popup then; without them the portal asks for them). */
  credentials?: Record<string, string>;
  /** Values of the integration's connection fields. */
  connection?: Record<string, string>;
  /** Which way in, for an integration with account types (`sandbox`); the first when left out. */
  accountType?: string;
  /** Navigate this page to the provider and back to this URL instead of using a popup. */
  redirectUrl?: string;
  /** Open the Connect Portal on the new account once it is connected. */
  showPortalAfterInstall?: boolean;
}

export interface InstallResult {
  integrationId: string;
  integrationType: string;
  credentialId: string;
  credential?: ConnectCredential;
  /** The external account was already connected and was updated instead of copied. */
  deduplicated: boolean;
}

export interface ConnectOptions {
  /** Open the portal on this account (else the default account). */
  selectedCredentialId?: CredentialSelection;
  /** Open the portal on this configuration (and its account): an id or `ext:<externalId>`. */
  selectedConfigurationId?: ConfigurationSelection;
  onOpen?: () => void;
  onClose?: () => void;
  /** An account was connected in the portal (right after `onInstall`). */
  onSuccess?: (payload: IntegrationEvent, user: ConnectUser) => void;
  /** An action in the portal failed, or the integration does not exist (`IntegrationNotFoundError`). */
  onError?: (error: ParagonError) => void;
  onInstall?: (payload: IntegrationEvent, user: ConnectUser) => void;
  onUninstall?: (payload: IntegrationEvent, user: ConnectUser) => void;
  onWorkflowChange?: (payload: WorkflowChangeEvent, user: ConnectUser) => void;
  onCredentialChange?: (payload: IntegrationEvent, user: ConnectUser) => void;
}

/** A configuration id or `ext:<externalId>`. */
export type ConfigurationSelection = string;

export interface SelectionOptions {
  selectedCredentialId?: CredentialSelection;
  /** One of the account's configurations; an id alone also chooses its account. Sent as `X-Paragon-Configuration-Id`. */
  selectedConfigurationId?: ConfigurationSelection;
}

export interface CreateConfigurationOptions {
  /** The account the configuration belongs to. */
  credentialId: string;
  /** Your label for it, unique per account; `ext:<externalId>` then names it. */
  externalId?: string;
  meta?: Record<string, unknown>;
}

export interface UpdateConfigurationOptions {
  /** The configuration: an id or `ext:<externalId>`. */
  id: ConfigurationSelection;
  credentialId: string;
  /** A new label, or `null` to remove it. */
  externalId?: string | null;
  meta?: Record<string, unknown>;
  sharedSettings?: Record<string, unknown>;
  workflowSettings?: Record<string, { enabled?: boolean; settings?: Record<string, unknown> }>;
}

export interface ProxyRequestOptions extends SelectionOptions {
  method?: string;
  /** Objects are sent as JSON; strings, Blobs, FormData and buffers as they are. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface WorkflowRequestOptions extends SelectionOptions {
  body?: unknown;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

export declare class ParagonError extends Error {
  constructor(message: string, fields?: { status?: number; code?: string; meta?: Record<string, unknown>; body?: unknown });
  name: string;
  /** HTTP status, when the server answered. */
  status?: number;
  /** Patchbay's stable error code (`integration_already_installed`, ...), or the SDK's own. */
  code?: string;
  meta?: Record<string, unknown>;
  /** The response body, for provider errors passed through by `request`. */
  body?: unknown;
}

/** A call needed `authenticate` first, or the server refused the user token. */
export declare class UserNotAuthenticatedError extends ParagonError {}
/** The project has no integration of that type. */
export declare class IntegrationNotFoundError extends ParagonError {}
/** The user has no (or not the selected) account of that integration. */
export declare class IntegrationNotInstalledError extends ParagonError {}
/** The browser blocked the provider's popup. */
export declare class OAuthBlockedError extends ParagonError {}
/** The provider's authorization did not finish within `oauthTimeout`. */
export declare class OAuthTimeoutError extends ParagonError {}
/** `request()`: the provider or the proxy answered with an error status (`status`, `body`). */
export declare class ProxyRequestError extends ParagonError {}
/** An `installFlow` setter was called with no flow waiting for it. */
export declare class NoActiveInstallFlowError extends ParagonError {}
/** Never thrown by Patchbay (headless mode is always on); exported for code that checks for it. */
export declare class HeadlessModeNotEnabledError extends ParagonError {}

export type InstallFlowError =
  | UserNotAuthenticatedError
  | IntegrationNotFoundError
  | OAuthBlockedError
  | OAuthTimeoutError
  | NoActiveInstallFlowError
  | HeadlessModeNotEnabledError
  | ParagonError;

/** One field of the `preOptions` stage: a connection field or a credential field. */
export interface InstallFlowField {
  id: string;
  title: string;
  secret?: boolean;
}

/** Where the headless install flow is; `onNext` receives each one. */
export type InstallFlowStage =
  | { stage: 'accountType'; options: AccountType[]; done: false }
  | { stage: 'preOptions'; options: InstallFlowField[]; done: false }
  | { stage: 'oauth'; done: false }
  | { stage: 'postOptions'; options: UserSetting[]; done: false }
  | { stage: 'done'; done: true };

export interface InstallFlowStartOptions {
  allowMultipleCredentials?: boolean;
  selectedCredentialId?: CredentialSelection;
  externalId?: string;
  overrideRedirectUrl?: string;
  /** Which way in, for an integration with account types; without it the flow asks at its `accountType` stage. */
  accountType?: string;
  /** How long to wait for the provider's authorization, in milliseconds. */
  oauthTimeout?: number;
  onNext?: (next: InstallFlowStage) => void;
  onComplete?: (result: InstallResult) => void;
  onError?: (error: InstallFlowError, context: { stage?: InstallFlowStage['stage'] }) => void;
}

export interface InstallFlow {
  /** Starts installing; for OAuth without preOptions the popup opens here, so call it inside a click. */
  start(integrationType: string, options?: InstallFlowStartOptions): void;
  /** The current stage; throws `NoActiveInstallFlowError` when no flow is active. */
  next(): InstallFlowStage;
  /** Answers `preOptions` (connection fields, and the credentials of API-key integrations). */
  setPreOptions(values: Record<string, unknown>): void;
  /** Answers `postOptions`: saved as the new account's user settings. */
  setPostOptions(values: Record<string, unknown>): void;
  /** Answers `accountType` with the id of one of its options. */
  setAccountType(accountType: string): void;
}

/** `getIntegrationConfig`: what the portal shows, in Paragon's field names. */
export interface IntegrationConfig {
  id: string;
  type: string;
  shortDescription: string | null;
  longDescription: string | null;
  availableUserSettings: UserSetting[];
  availableWorkflows: IntegrationMetadata['workflows'];
}

export interface Paragon {
  configureGlobal(options: { host: string }): void;
  /** `metadata` is merged into the user's metadata (`getUser().meta`). */
  authenticate(projectId: string, userToken: string, options?: { metadata?: Record<string, unknown> }): Promise<void>;
  /** Closes the portal and the event stream and forgets the token. */
  logout(): void;
  closePortal(): void;
  getUser(): ConnectUser;
  /** Beyond Paragon: reload the user object now. */
  refreshUser(): Promise<AuthenticatedConnectUser>;
  subscribe<E extends SdkEventName>(event: E, listener: SdkEventListener<E>): () => void;
  unsubscribe<E extends SdkEventName>(event: E, listener: SdkEventListener<E>): void;
  connect(integrationType: string, options?: ConnectOptions): void;
  installIntegration(integrationType: string, options?: InstallIntegrationOptions): Promise<InstallResult>;
  installFlow: InstallFlow;
  /** The account; `includeAccountAuth: true` rejects: tokens never reach the browser (use `request`). */
  getIntegrationAccount(
    integrationType: string,
    options?: SelectionOptions & { includeAccountAuth?: false },
  ): Promise<ConnectCredential>;
  uninstallIntegration(integrationType: string, options?: SelectionOptions): Promise<void>;
  request<T = unknown>(integrationType: string, path: string, options?: ProxyRequestOptions): Promise<T>;
  workflow<T = unknown>(workflowId: string, options?: WorkflowRequestOptions): Promise<T>;
  /** Sent to `/v2/projects/{id}/sdk/events/trigger`; with a selection only that account's workflows run. */
  event(name: string, payload?: Record<string, unknown>, options?: SelectionOptions): Promise<{ executionIds: string[] }>;
  setUserMetadata(meta: Record<string, unknown>): Promise<AuthenticatedConnectUser>;
  enableWorkflow(workflowId: string, options?: SelectionOptions): Promise<ConnectCredential>;
  disableWorkflow(workflowId: string, options?: SelectionOptions): Promise<ConnectCredential>;
  /** `{[workflowId]: enabled}` for one account; resolves with the account after the last change. */
  updateWorkflowState(states: Record<string, boolean>, options?: SelectionOptions): Promise<ConnectCredential | undefined>;
  updateIntegrationUserSettings(
    integrationType: string,
    settings: Record<string, unknown>,
    options?: SelectionOptions,
  ): Promise<ConnectCredential>;
  /** Merges `settings` into one workflow's own settings (its `inputs`) for that account and configuration. */
  updateWorkflowUserSettings(
    integrationType: string,
    workflowId: string,
    settings: Record<string, unknown>,
    options?: SelectionOptions,
  ): Promise<ConnectCredential>;
  /** Adds a configuration to an account; resolves with it (listed in `getUser()` afterwards). */
  createConfiguration(options: CreateConfigurationOptions): Promise<CredentialConfiguration>;
  updateConfiguration(options: UpdateConfigurationOptions): Promise<CredentialConfiguration>;
  /** Deletes a configuration; an account's default one cannot be (`default_configuration`). */
  destroyConfiguration(options: { id: ConfigurationSelection; credentialId: string }): Promise<void>;
  /** The options of a dynamic setting, listed from the account's own API, a page at a time. */
  getFieldOptions(options: GetFieldOptionsOptions): Promise<FieldOptionsPage>;
  getIntegrationMetadata(): IntegrationMetadata[];
  getIntegrationMetadata(integrationType: string): IntegrationMetadata | undefined;
  /** Throws `IntegrationNotFoundError` for a type the project does not have. */
  getIntegrationConfig(integrationType: string): IntegrationConfig;
}

export interface SdkEnvironment {
  host?: string;
  fetch?: typeof fetch;
  EventSource?: typeof EventSource;
  window?: Window;
  pollIntervalMs?: number;
}

/** A separate SDK instance (tests, or several users in one page). */
export declare function createParagon(env?: SdkEnvironment): Paragon;

export declare const paragon: Paragon;
export default paragon;
