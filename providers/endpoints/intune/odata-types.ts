/**
 * The Intune subtypes einklang manages, and the type of every setting they
 * have: what `settings` of a ConfigurationProfile or CompliancePolicy may
 * hold. Used by the kinds (validate: an unknown `@odata.type` is refused with
 * the list below; a value of the wrong type is pointed at) and by the Graph
 * simulator (OData refuses unknown properties and wrong types with 400).
 *
 * Sources (fields and their types):
 * - the Graph v1.0 create examples in /work/shared/corpus/graph/v1.0/
 *   (iosGeneralDeviceConfiguration_create.json, windows10GeneralConfiguration_create.json,
 *   iosCompliancePolicy_create.json, windows10CompliancePolicy_create.json), which
 *   carry every property of the resource; the current resource pages of
 *   microsoftgraph/microsoft-graph-docs-contrib list the same iOS properties
 *   (api-reference/v1.0/resources/intune-deviceconfig-iosgeneraldeviceconfiguration.md);
 * - androidCompliancePolicy: that repository's resource page
 *   (intune-deviceconfig-androidcompliancepolicy.md). Microsoft's PowerShell
 *   sample (corpus intune-samples/androidCompliancePolicy_create.request.json)
 *   still sends `requireAppVerify`, which v1.0 no longer has (now
 *   `securityRequireVerifyApps`): an unknown property, refused here as Graph does;
 * - enum values: the "Possible values are" of those resource pages (requiredPasswordType,
 *   androidRequiredPasswordType, deviceThreatProtectionLevel, appListType,
 *   ratingAppsType, webBrowserCookieSettings) and valid ranges where the pages state them.
 * The other enum-typed settings of windows10GeneralConfiguration (edgeCookiePolicy,
 * defender*, startMenu*, ...) are checked as strings only: their value lists
 * were not verified (UNVERIFIED), so einklang does not pretend to know them.
 */

export type SettingKind = 'boolean' | 'integer' | 'string' | 'stringList' | 'object' | 'objectList';

interface TableEntry {
  boolean?: string[];
  integer?: string[];
  string?: string[];
  stringList?: string[];
  object?: string[];
  objectList?: string[];
  enums?: Record<string, string[]>;
  /** Inclusive ranges the resource pages state ("Valid values 4 to 14"). */
  ranges?: Record<string, [number, number]>;
}

const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);

const TABLE: Record<string, TableEntry> = {
  iosGeneralDeviceConfiguration: {
    boolean: words(`
      accountBlockModification activationLockAllowWhenSupervised airDropBlocked airDropForceUnmanagedDropTarget
      airPlayForcePairingPasswordForOutgoingRequests appleWatchBlockPairing appleWatchForceWristDetection appleNewsBlocked
      appStoreBlockAutomaticDownloads appStoreBlocked appStoreBlockInAppPurchases appStoreBlockUIAppInstallation appStoreRequirePassword
      bluetoothBlockModification cameraBlocked cellularBlockDataRoaming cellularBlockGlobalBackgroundFetchWhileRoaming
      cellularBlockPerAppDataModification cellularBlockPersonalHotspot cellularBlockVoiceRoaming
      certificatesBlockUntrustedTlsCertificates classroomAppBlockRemoteScreenObservation classroomAppForceUnpromptedScreenObservation
      configurationProfileBlockChanges definitionLookupBlocked deviceBlockEnableRestrictions deviceBlockEraseContentAndSettings
      deviceBlockNameModification diagnosticDataBlockSubmission diagnosticDataBlockSubmissionModification
      documentsBlockManagedDocumentsInUnmanagedApps documentsBlockUnmanagedDocumentsInManagedApps enterpriseAppBlockTrust
      enterpriseAppBlockTrustModification faceTimeBlocked findMyFriendsBlocked gamingBlockGameCenterFriends gamingBlockMultiplayer
      gameCenterBlocked hostPairingBlocked iBooksStoreBlocked iBooksStoreBlockErotica iCloudBlockActivityContinuation iCloudBlockBackup
      iCloudBlockDocumentSync iCloudBlockManagedAppsSync iCloudBlockPhotoLibrary iCloudBlockPhotoStreamSync iCloudBlockSharedPhotoStream
      iCloudRequireEncryptedBackup iTunesBlockExplicitContent iTunesBlockMusicService iTunesBlockRadio keyboardBlockAutoCorrect
      keyboardBlockDictation keyboardBlockPredictive keyboardBlockShortcuts keyboardBlockSpellCheck kioskModeAllowAssistiveSpeak
      kioskModeAllowAssistiveTouchSettings kioskModeAllowAutoLock kioskModeAllowColorInversionSettings kioskModeAllowRingerSwitch
      kioskModeAllowScreenRotation kioskModeAllowSleepButton kioskModeAllowTouchscreen kioskModeAllowVoiceOverSettings
      kioskModeAllowVolumeButtons kioskModeAllowZoomSettings kioskModeRequireAssistiveTouch kioskModeRequireColorInversion
      kioskModeRequireMonoAudio kioskModeRequireVoiceOver kioskModeRequireZoom lockScreenBlockControlCenter
      lockScreenBlockNotificationView lockScreenBlockPassbook lockScreenBlockTodayView messagesBlocked
      notificationsBlockSettingsModification passcodeBlockFingerprintUnlock passcodeBlockFingerprintModification
      passcodeBlockModification passcodeBlockSimple passcodeRequired podcastsBlocked safariBlockAutofill safariBlockJavaScript
      safariBlockPopups safariBlocked safariRequireFraudWarning screenCaptureBlocked siriBlocked siriBlockedWhenLocked
      siriBlockUserGeneratedContent siriRequireProfanityFilter spotlightBlockInternetResults voiceDialingBlocked
      wallpaperBlockModification wiFiConnectOnlyToConfiguredNetworks
    `),
    integer: words(`
      passcodeExpirationDays passcodeMinimumLength passcodeMinutesOfInactivityBeforeLock passcodeMinutesOfInactivityBeforeScreenTimeout
      passcodeMinimumCharacterSetCount passcodePreviousPasscodeBlockCount passcodeSignInFailureCountBeforeWipe
    `),
    string: words(`kioskModeAppStoreUrl kioskModeBuiltInAppId kioskModeManagedAppId`),
    stringList: words(`emailInDomainSuffixes safariManagedDomains safariPasswordAutoFillDomains`),
    object: words(`
      mediaContentRatingAustralia mediaContentRatingCanada mediaContentRatingFrance mediaContentRatingGermany mediaContentRatingIreland
      mediaContentRatingJapan mediaContentRatingNewZealand mediaContentRatingUnitedKingdom mediaContentRatingUnitedStates
    `),
    objectList: words(`appsSingleAppModeList appsVisibilityList compliantAppsList networkUsageRules`),
    enums: {
      appsVisibilityListType: ["none", "appsInListCompliant", "appsNotInListCompliant"],
      compliantAppListType: ["none", "appsInListCompliant", "appsNotInListCompliant"],
      mediaContentRatingApps: ["allAllowed", "allBlocked", "agesAbove4", "agesAbove9", "agesAbove12", "agesAbove17"],
      passcodeRequiredType: ["deviceDefault", "alphanumeric", "numeric"],
      safariCookieSettings: ["browserDefault", "blockAlways", "allowCurrentWebSite", "allowFromWebsitesVisited", "allowAlways"],
    },
  },
  windows10GeneralConfiguration: {
    boolean: words(`
      searchBlockDiacritics searchDisableAutoLanguageDetection searchDisableIndexingEncryptedItems searchEnableRemoteQueries
      searchDisableIndexerBackoff searchDisableIndexingRemovableDrive searchEnableAutomaticIndexSizeManangement oneDriveDisableFileSync
      smartScreenEnableAppInstallControl bluetoothBlockAdvertising bluetoothBlockDiscoverableMode bluetoothBlockPrePairing
      edgeBlockAutofill edgeBlocked edgeBlockDeveloperTools edgeBlockSendingDoNotTrackHeader edgeBlockExtensions
      edgeBlockInPrivateBrowsing edgeBlockJavaScript edgeBlockPasswordManager edgeBlockAddressBarDropdown edgeBlockCompatibilityList
      edgeClearBrowsingDataOnExit edgeAllowStartPagesModification edgeDisableFirstRunPage edgeBlockLiveTileDataCollection
      edgeSyncFavoritesWithInternetExplorer cellularBlockDataWhenRoaming cellularBlockVpn cellularBlockVpnWhenRoaming
      defenderRequireRealTimeMonitoring defenderRequireBehaviorMonitoring defenderRequireNetworkInspectionSystem defenderScanDownloads
      defenderScanScriptsLoadedInInternetExplorer defenderBlockEndUserAccess defenderScanArchiveFiles defenderScanIncomingMail
      defenderScanRemovableDrivesDuringFullScan defenderScanMappedNetworkDrivesDuringFullScan defenderScanNetworkFiles
      defenderRequireCloudProtection lockScreenAllowTimeoutConfiguration lockScreenBlockActionCenterNotifications lockScreenBlockCortana
      lockScreenBlockToastNotifications passwordBlockSimple passwordRequired passwordRequireWhenResumeFromIdleState
      privacyAutoAcceptPairingAndConsentPrompts privacyBlockInputPersonalization startBlockUnpinningAppsFromTaskbar
      startMenuHideChangeAccountSettings startMenuHideFrequentlyUsedApps startMenuHideHibernate startMenuHideLock
      startMenuHidePowerButton startMenuHideRecentJumpLists startMenuHideRecentlyAddedApps startMenuHideRestartOptions
      startMenuHideShutDown startMenuHideSignOut startMenuHideSleep startMenuHideSwitchAccount startMenuHideUserTile
      settingsBlockSettingsApp settingsBlockSystemPage settingsBlockDevicesPage settingsBlockNetworkInternetPage
      settingsBlockPersonalizationPage settingsBlockAccountsPage settingsBlockTimeLanguagePage settingsBlockEaseOfAccessPage
      settingsBlockPrivacyPage settingsBlockUpdateSecurityPage settingsBlockAppsPage settingsBlockGamingPage
      windowsSpotlightBlockConsumerSpecificFeatures windowsSpotlightBlocked windowsSpotlightBlockOnActionCenter
      windowsSpotlightBlockTailoredExperiences windowsSpotlightBlockThirdPartyNotifications windowsSpotlightBlockWelcomeExperience
      windowsSpotlightBlockWindowsTips networkProxyApplySettingsDeviceWide networkProxyDisableAutoDetect
      accountsBlockAddingNonMicrosoftAccountEmail antiTheftModeBlocked bluetoothBlocked cameraBlocked connectedDevicesServiceBlocked
      certificatesBlockManualRootCertificateInstallation copyPasteBlocked cortanaBlocked deviceManagementBlockFactoryResetOnMobile
      deviceManagementBlockManualUnenroll edgeBlockPopups edgeBlockSearchSuggestions edgeBlockSendingIntranetTrafficToInternetExplorer
      edgeSendIntranetTrafficToInternetExplorer edgeRequireSmartScreen edgeBlockAccessToAboutFlags smartScreenBlockPromptOverride
      smartScreenBlockPromptOverrideForFiles webRtcBlockLocalhostIpAddress internetSharingBlocked settingsBlockAddProvisioningPackage
      settingsBlockRemoveProvisioningPackage settingsBlockChangeSystemTime settingsBlockEditDeviceName settingsBlockChangeRegion
      settingsBlockChangeLanguage settingsBlockChangePowerSleep locationServicesBlocked microsoftAccountBlocked
      microsoftAccountBlockSettingsSync nfcBlocked resetProtectionModeBlocked screenCaptureBlocked storageBlockRemovableStorage
      storageRequireMobileDeviceEncryption usbBlocked voiceRecordingBlocked wiFiBlockAutomaticConnectHotspots wiFiBlocked
      wiFiBlockManualConfiguration wirelessDisplayBlockProjectionToThisDevice wirelessDisplayBlockUserInputFromReceiver
      wirelessDisplayRequirePinForPairing windowsStoreBlocked windowsStoreBlockAutoUpdate sharedUserAppDataAllowed
      appsBlockWindowsStoreOriginatedApps windowsStoreEnablePrivateStoreOnly storageRestrictAppDataToSystemVolume
      storageRestrictAppInstallToSystemVolume gameDvrBlocked experienceBlockDeviceDiscovery experienceBlockErrorDialogWhenNoSIM
      experienceBlockTaskSwitcher logonBlockFastUserSwitching tenantLockdownRequireNetworkDuringOutOfBoxExperience
    `),
    integer: words(`
      enterpriseCloudPrintDiscoveryMaxLimit defenderSignatureUpdateIntervalInHours defenderDaysBeforeDeletingQuarantinedMalware
      defenderScanMaxCpu lockScreenTimeoutInSeconds passwordExpirationDays passwordMinimumLength
      passwordMinutesOfInactivityBeforeScreenTimeout passwordMinimumCharacterSetCount passwordPreviousPasswordBlockCount
      passwordSignInFailureCountBeforeFactoryReset wiFiScanInterval
    `),
    string: words(`
      enterpriseCloudPrintDiscoveryEndPoint enterpriseCloudPrintOAuthAuthority enterpriseCloudPrintOAuthClientIdentifier
      enterpriseCloudPrintResourceIdentifier enterpriseCloudPrintMopriaDiscoveryResourceIdentifier diagnosticsDataSubmissionMode
      personalizationDesktopImageUrl personalizationLockScreenImageUrl edgeCookiePolicy defenderMonitorFileActivity
      defenderCloudBlockLevel defenderPromptForSampleSubmission defenderScheduledQuickScanTime defenderScanType
      defenderSystemScanSchedule defenderScheduledScanTime privacyAdvertisingId startMenuAppListVisibility startMenuLayoutEdgeAssetsXml
      startMenuLayoutXml startMenuMode startMenuPinnedFolderDocuments startMenuPinnedFolderDownloads startMenuPinnedFolderFileExplorer
      startMenuPinnedFolderHomeGroup startMenuPinnedFolderMusic startMenuPinnedFolderNetwork startMenuPinnedFolderPersonalFolder
      startMenuPinnedFolderPictures startMenuPinnedFolderSettings startMenuPinnedFolderVideos windowsSpotlightConfigureOnLockScreen
      networkProxyAutomaticConfigurationUrl safeSearchFilter edgeEnterpriseModeSiteListLocation edgeFirstRunUrl
      appsAllowTrustedAppsSideloading developerUnlockSetting
    `),
    stringList: words(`
      bluetoothAllowedServices defenderFileExtensionsToExclude defenderFilesAndFoldersToExclude defenderProcessesToExclude
      edgeHomepageUrls
    `),
    object: words(`defenderDetectedMalwareActions networkProxyServer edgeSearchEngine`),
    enums: {
      passwordRequiredType: ["deviceDefault", "alphanumeric", "numeric"],
    },
  },
  iosCompliancePolicy: {
    boolean: words(`passcodeBlockSimple passcodeRequired securityBlockJailbrokenDevices deviceThreatProtectionEnabled managedEmailProfileRequired`),
    integer: words(`
      passcodeExpirationDays passcodeMinimumLength passcodeMinutesOfInactivityBeforeLock passcodePreviousPasscodeBlockCount
      passcodeMinimumCharacterSetCount
    `),
    string: words(`osMinimumVersion osMaximumVersion`),
    enums: {
      passcodeRequiredType: ["deviceDefault", "alphanumeric", "numeric"],
      deviceThreatProtectionRequiredSecurityLevel: ["unavailable", "secured", "low", "medium", "high", "notSet"],
    },
  },
  windows10CompliancePolicy: {
    boolean: words(`
      passwordRequired passwordBlockSimple passwordRequiredToUnlockFromIdle requireHealthyDeviceReport
      earlyLaunchAntiMalwareDriverEnabled bitLockerEnabled secureBootEnabled codeIntegrityEnabled storageRequireEncryption
    `),
    integer: words(`
      passwordMinutesOfInactivityBeforeLock passwordExpirationDays passwordMinimumLength passwordMinimumCharacterSetCount
      passwordPreviousPasswordBlockCount
    `),
    string: words(`osMinimumVersion osMaximumVersion mobileOsMinimumVersion mobileOsMaximumVersion`),
    enums: {
      passwordRequiredType: ["deviceDefault", "alphanumeric", "numeric"],
    },
  },
  androidCompliancePolicy: {
    boolean: words(`
      passwordRequired securityPreventInstallAppsFromUnknownSources securityDisableUsbDebugging securityRequireVerifyApps
      deviceThreatProtectionEnabled securityBlockJailbrokenDevices storageRequireEncryption
      securityRequireSafetyNetAttestationBasicIntegrity securityRequireSafetyNetAttestationCertifiedDevice
      securityRequireGooglePlayServices securityRequireUpToDateSecurityProviders securityRequireCompanyPortalAppIntegrity
    `),
    integer: words(`passwordMinimumLength passwordMinutesOfInactivityBeforeLock passwordExpirationDays passwordPreviousPasswordBlockCount`),
    string: words(`osMinimumVersion osMaximumVersion minAndroidSecurityPatchLevel`),
    enums: {
      passwordRequiredType: ["deviceDefault", "alphabetic", "alphanumeric", "alphanumericWithSymbols", "lowSecurityBiometric", "numeric", "numericComplex", "any"],
      deviceThreatProtectionRequiredSecurityLevel: ["unavailable", "secured", "low", "medium", "high", "notSet"],
    },
  },
};

// Ranges from the resource pages ("Valid values a to b").
TABLE.iosGeneralDeviceConfiguration.ranges = {
  passcodeExpirationDays: [1, 65535],
  passcodeMinimumLength: [4, 14],
  passcodeMinimumCharacterSetCount: [0, 4],
  passcodePreviousPasscodeBlockCount: [1, 24],
  passcodeSignInFailureCountBeforeWipe: [2, 11],
};
TABLE.iosCompliancePolicy.ranges = { passcodeExpirationDays: [1, 65535], passcodeMinimumLength: [4, 14], passcodePreviousPasscodeBlockCount: [1, 24] };
TABLE.androidCompliancePolicy.ranges = { passwordMinimumLength: [4, 16], passwordExpirationDays: [1, 65535] };

export type ManagedKind = 'ConfigurationProfile' | 'CompliancePolicy';
export type Platform = 'iOS' | 'Windows' | 'Android';

export interface Subtype {
  /** `#microsoft.graph.iosGeneralDeviceConfiguration` */
  odataType: string;
  kind: ManagedKind;
  /** Graph collection under /deviceManagement. */
  collection: 'deviceConfigurations' | 'deviceCompliancePolicies';
  /** The operating system of the devices it is for (`operatingSystem` of a managed device). */
  platform: Platform;
  fields: ReadonlyMap<string, SettingKind | { enum: string[] }>;
  ranges: Readonly<Record<string, [number, number]>>;
}

const META: Record<string, { kind: ManagedKind; platform: Platform }> = {
  iosGeneralDeviceConfiguration: { kind: 'ConfigurationProfile', platform: 'iOS' },
  windows10GeneralConfiguration: { kind: 'ConfigurationProfile', platform: 'Windows' },
  iosCompliancePolicy: { kind: 'CompliancePolicy', platform: 'iOS' },
  windows10CompliancePolicy: { kind: 'CompliancePolicy', platform: 'Windows' },
  androidCompliancePolicy: { kind: 'CompliancePolicy', platform: 'Android' },
};

function subtype(name: string, t: TableEntry): Subtype {
  const fields = new Map<string, SettingKind | { enum: string[] }>();
  for (const k of ['boolean', 'integer', 'string', 'stringList', 'object', 'objectList'] as const) for (const f of t[k] ?? []) fields.set(f, k);
  for (const [f, values] of Object.entries(t.enums ?? {})) fields.set(f, { enum: values });
  const { kind, platform } = META[name];
  return { odataType: `#microsoft.graph.${name}`, kind, platform, collection: kind === 'ConfigurationProfile' ? 'deviceConfigurations' : 'deviceCompliancePolicies', fields, ranges: t.ranges ?? {} };
}

/** Every supported subtype by its canonical `@odata.type`. */
export const SUBTYPES: ReadonlyMap<string, Subtype> = new Map(Object.entries(TABLE).map(([name, t]) => [`#microsoft.graph.${name}`, subtype(name, t)]));

/** Properties every deviceConfiguration and deviceCompliancePolicy has; not settings. */
export const BASE_PROPERTIES: readonly string[] = ['id', 'createdDateTime', 'lastModifiedDateTime', 'displayName', 'description', 'version'];

/** The supported `@odata.type`s of a kind, sorted. */
export function supportedTypes(kind: ManagedKind): string[] {
  return [...SUBTYPES.values()].filter((s) => s.kind === kind).map((s) => s.odataType).sort();
}

/** `microsoft.graph.x` and `#microsoft.graph.x` are the same type (Graph accepts both; Microsoft's samples send the first). */
export function canonicalType(t: unknown): string | undefined {
  if (typeof t !== 'string') return undefined;
  return t.startsWith('#') ? t : `#${t}`;
}

function describe(k: SettingKind | { enum: string[] }): string {
  if (typeof k !== 'string') return `one of ${k.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  return { boolean: 'a boolean', integer: 'an integer', string: 'a string', stringList: 'a list of strings', object: 'an object', objectList: 'a list of objects' }[k];
}

function fits(k: SettingKind | { enum: string[] }, v: unknown): boolean {
  if (typeof k !== 'string') return typeof v === 'string' && k.enum.includes(v);
  switch (k) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return Number.isInteger(v);
    case 'string':
      return typeof v === 'string';
    case 'stringList':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'object':
      return !!v && typeof v === 'object' && !Array.isArray(v);
    case 'objectList':
      return Array.isArray(v) && v.every((x) => !!x && typeof x === 'object' && !Array.isArray(x));
  }
}

/**
 * Why `value` cannot be setting `name` of this subtype, or undefined when it
 * can. null is always allowed (Graph properties are nullable: "not configured").
 */
export function settingProblem(s: Subtype, name: string, value: unknown): string | undefined {
  const short = s.odataType.replace('#microsoft.graph.', '');
  const k = s.fields.get(name);
  if (!k) return `${short} has no setting ${JSON.stringify(name)}`;
  if (value === null) return undefined;
  if (!fits(k, value)) return `${name} must be ${describe(k)} (${short})`;
  const range = s.ranges[name];
  if (range && typeof value === 'number' && (value < range[0] || value > range[1])) return `${name} must be between ${range[0]} and ${range[1]} (${short})`;
  return undefined;
}
