import{r as e,t}from"./chunk-FGVZ23HU-BOXFQWlb.js";import"./chunk-KTR4FSNJ-D5cskt8c.js";import"./chunk-CNRTWJTD-XnUTj3Ui.js";import{kn as n}from"./mermaid.core-DPokmrJE.js";import"./chunk-D5HYT7QG-CL94ALnx.js";var r=t({styles:n(t=>`${e(t)}
  .swimlane.cluster:not([data-color-id]) rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};