// What boot.js, inline in <head> and always before the deferred script, has already defined:
// the deferred script takes these from it instead of carrying a second copy.

export const { readChoice, isCurrent, mountBanner, showBanner, hideBanner } = window.__imrConsentBoot;
