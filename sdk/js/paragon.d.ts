// Type declarations for Patchbay's JavaScript SDK (paragon.js).

export type CredentialStatus = 'PENDING' | 'VALID' | 'INVALID';

export interface WorkflowState {
  enabled: boolean;
  settings: Record<string, unknown>;
}

export interface CredentialConfiguration {
  id: string;
  connectCredentialId: string;
  isDefault: boolean;
  externalId: string | null;
  sharedSettings: Record<string, unknown>;
  workflowSettings: Record<string, WorkflowState>;
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

export interface UserSetting {
  id: string;
  type: 'text' | 'number' | 'boolean' | 'select' | 'email' | 'url';
  title: string;
  description?: string;
  required?: boolean;
  default?: unknown;
  options?: string[];
  pattern?: string;
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

export interface SelectionOptions {
  selectedCredentialId?: CredentialSelection;
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
