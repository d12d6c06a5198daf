// @ts-check
/**
 * The SSO hand-off page: submit the form that carries the one-time token to the
 * reporting origin. The token stays in the form body; nothing here reads or keeps it.
 */
const form = document.querySelector("form[data-autopost]");
if (form instanceof HTMLFormElement) {
  form.submit();
}
