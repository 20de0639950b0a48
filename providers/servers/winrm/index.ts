/** The winrm driver for Windows servers, its Windows-only kinds and its simulator. */
export { winrmDriver, validateWinrmConnection, simulateWinrm, labWinrmFingerprint, winrmConnection, WINRM_KINDS, type RunningWinrmSimulator, type WinrmConnection } from './driver.js';
export { winrmKinds, windowsFeatureKind, registryValueKind } from './kinds.js';
export { WinrmSimulator, type WinrmFaults, type WinrmSimulatorOptions } from './simulator/server.js';
export { WindowsModel } from './simulator/model.js';
export { HttpTransport, type WsmanTransport } from './transport.js';
export { WinrmSession } from './session.js';
