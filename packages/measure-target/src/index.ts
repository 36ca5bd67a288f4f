export { createLocalTimer, type LatencyTimer, type TimingRequest, type CellTimingRequest, type OpTimingRequest, type NetworkTimingRequest } from './timer.js';
export {
  PREPROCESS_FACTORIZED_REDUCE,
  PREPROCESS_RELU_CONV_BN,
  opSubject,
  cellSubject,
  cellFamily,
  type BatchedCellShape,
  type TimedSubject,
  type NetworkConfig,
  type OpSite,
} from './subjects.js';
export { BROWSER_BACKENDS, type BrowserBackend, type ClassifyRequest, type ClassifyResult } from './page-api.js';
export { launchBrowserTarget, browserExecutable, PAGE_DIR, type BrowserInfo, type BrowserOptions, type BrowserTarget } from './browser.js';
export {
  MEASUREMENT_TARGETS,
  TARGET_PARAMS,
  checkTargetParams,
  createTfjsTimer,
  openTarget,
  targetEnvironment,
  browserFingerprint,
  targetMetadata,
  describeTarget,
  type MeasurementTarget,
  type MeasurementTargetName,
  type TargetLabel,
  type TargetParams,
  type ClockParam,
} from './target.js';
