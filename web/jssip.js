// The entry point esbuild bundles into static/vendor/jssip.js: JsSIP as an ES module for the agent
// desktop's softphone (src/centrale/server/web/static/js/softphone.js).
import JsSIP from "jssip";

export default JsSIP;
