/** The winrm driver for Windows servers, its Windows-only kinds and its simulator. */
export { winrmDriver, WINRM_KINDS } from './driver.js';
export { validateWinrmConnection, winrmConnection, type WinrmConnection } from './connection.js';
export { simulateWinrm, labWinrmFingerprint, type RunningWinrmSimulator } from './lab.js';
export { winrmKinds, windowsFeatureKind, registryValueKind } from './kinds.js';
export { WinrmSimulator, type WinrmFaults, type WinrmSimulatorOptions } from './simulator/server.js';
export { WindowsModel } from './simulator/model.js';
export { HttpTransport, type WsmanTransport } from './transport.js';
export { WinrmSession } from './session.js';
