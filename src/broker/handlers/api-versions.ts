// ApiVersions: what this broker implements, exactly. Unsupported versions get the v0
// fallback from the router.

import { METADATA_VERSION_FEATURE, METADATA_VERSION_LEVEL } from '../../metadata/controller.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { defineHandler } from '../router.js';

// KIP-511: client software names and versions are limited to this pattern.
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export const apiVersionsHandler = defineHandler({
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, req) {
    if (ctx.apiVersion >= 3) {
      if (!SOFTWARE_PATTERN.test(req.clientSoftwareName) || !SOFTWARE_PATTERN.test(req.clientSoftwareVersion)) {
        return { errorCode: 42, apiKeys: ctx.broker.supportedApis(), throttleTimeMs: 0 };
      }
      ctx.conn.clientSoftwareName = req.clientSoftwareName;
      ctx.conn.clientSoftwareVersion = req.clientSoftwareVersion;
    }
    const level = ctx.broker.image().features.get(METADATA_VERSION_FEATURE) ?? METADATA_VERSION_LEVEL;
    return {
      errorCode: 0,
      apiKeys: ctx.broker.supportedApis(),
      throttleTimeMs: 0,
      supportedFeatures: [{ name: METADATA_VERSION_FEATURE, minVersion: 1, maxVersion: METADATA_VERSION_LEVEL }],
      finalizedFeaturesEpoch: ctx.broker.image().offset,
      finalizedFeatures: [{ name: METADATA_VERSION_FEATURE, maxVersionLevel: level, minVersionLevel: level }],
    };
  },
});
