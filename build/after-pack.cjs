// electron-builder afterPack hook: flips Electron fuses on the packaged binary before it is
// signed, so the shipped app cannot be turned into a generic Node runtime or debugged via env/flags.
const path = require('node:path');
const { flipFuses, FuseVersion, FuseV1Options } = require('@electron/fuses');

/** The fuse wiring every package ships with (checked by test/unit/build/fuses.test.ts). */
const FUSES = {
  version: FuseVersion.V1,
  [FuseV1Options.RunAsNode]: false, // ELECTRON_RUN_AS_NODE cannot turn the app into node
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false, // NODE_OPTIONS ignored
  [FuseV1Options.EnableNodeCliInspectArguments]: false, // --inspect / --inspect-brk ignored
  [FuseV1Options.OnlyLoadAppFromAsar]: true, // no app/ folder next to the asar can take over
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true, // a modified app.asar refuses to load
  [FuseV1Options.EnableCookieEncryption]: true,
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false, // the renderer is served from app://, never file://
};

function executablePath(context) {
  const platform = context.electronPlatformName;
  const appInfo = context.packager.appInfo;
  if (platform === 'darwin' || platform === 'mas') return path.join(context.appOutDir, `${appInfo.productFilename}.app`);
  if (platform === 'win32') return path.join(context.appOutDir, `${appInfo.productFilename}.exe`);
  return path.join(context.appOutDir, context.packager.executableName);
}

async function afterPack(context) {
  const isAppleSilicon = context.electronPlatformName === 'darwin' && context.arch === 3; // Arch.arm64
  await flipFuses(executablePath(context), { ...FUSES, resetAdHocDarwinSignature: isAppleSilicon });
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.FUSES = FUSES;
module.exports.executablePath = executablePath;
