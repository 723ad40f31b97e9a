// H5Web as NOMAD embeds it, opening one converted file: index.html?file=<url>&path=<hdf5 path>.
// The page sets document.body.dataset.ready once the file is open, for the headless test to wait on.
import { App } from "@h5web/app";
import { H5WasmBufferProvider } from "@h5web/h5wasm";
import React, { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import "@h5web/app/dist/styles.css";

function Viewer() {
  const params = new URLSearchParams(window.location.search);
  const url = params.get("file");
  const [buffer, setBuffer] = useState(null);
  const [failure, setFailure] = useState(null);
  useEffect(() => {
    fetch(url)
      .then((response) => (response.ok ? response.arrayBuffer() : Promise.reject(new Error(response.statusText))))
      .then((data) => {
        setBuffer(data);
        document.body.dataset.ready = "1";
      })
      .catch((error) => setFailure(String(error)));
  }, [url]);
  if (failure) return <p id="load-error">{failure}</p>;
  if (!buffer) return <p>Loading {url}</p>;
  return (
    <div style={{ height: "100vh" }}>
      <H5WasmBufferProvider buffer={buffer} filename={url.split("/").pop()}>
        <App initialPath={params.get("path") || "/"} sidebarOpen={params.get("sidebar") === "1"} disableDarkMode />
      </H5WasmBufferProvider>
    </div>
  );
}

createRoot(document.getElementById("root")).render(<Viewer />);
