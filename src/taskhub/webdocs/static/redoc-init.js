// Starts ReDoc; a file rather than an inline script so the CSP needs no 'unsafe-inline'.
(function () {
  var url = document.currentScript.dataset.openapiUrl;
  Redoc.init(url, { hideDownloadButton: false }, document.getElementById("redoc"));
})();
