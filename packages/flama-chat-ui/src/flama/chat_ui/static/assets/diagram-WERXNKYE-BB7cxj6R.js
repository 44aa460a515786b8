import{t as e}from"./chunk-JWPE2WC7-DEBMFZEJ.js";import{$ as t,$t as n,En as r,Gt as i,Jt as a,Lt as o,Qt as s,Xt as c,Zt as l,fn as u,hn as d,kn as f,pn as p,tn as m}from"./mermaid.core-DPokmrJE.js";import{n as h}from"./mermaid-parser.core-Cb8BsUDA.js";var g=c.packet,_=class{constructor(){this.packet=[],this.setAccTitle=p,this.getAccTitle=s,this.setDiagramTitle=d,this.getDiagramTitle=m,this.getAccDescription=l,this.setAccDescription=u}static{f(this,`PacketDB`)}getConfig(){let e=t({...g,...n().packet});return e.showBits&&(e.paddingY+=10),e}getPacket(){return this.packet}pushWord(e){e.length>0&&this.packet.push(e)}clear(){i(),this.packet=[]}},v=1e4,y=f((t,n)=>{e(t,n);let i=-1,a=[],o=1,{bitsPerRow:s}=n.getConfig();for(let{start:e,end:c,bits:l,label:u}of t.blocks){if(e!==void 0&&c!==void 0&&c<e)throw Error(`Packet block ${e} - ${c} is invalid. End must be greater than start.`);if(e??=i+1,e!==i+1)throw Error(`Packet block ${e} - ${c??e} is not contiguous. It should start from ${i+1}.`);if(l===0)throw Error(`Packet block ${e} is invalid. Cannot have a zero bit field.`);for(c??=e+(l??1)-1,l??=c-e+1,i=c,r.debug(`Packet block ${e} - ${i} with label ${u}`);a.length<=s+1&&n.getPacket().length<v;){let[t,r]=b({start:e,end:c,bits:l,label:u},o,s);if(a.push(t),t.end+1===o*s&&(n.pushWord(a),a=[],o++),!r)break;({start:e,end:c,bits:l,label:u}=r)}}n.pushWord(a)},`populate`),b=f((e,t,n)=>{if(e.start===void 0)throw Error(`start should have been set during first phase`);if(e.end===void 0)throw Error(`end should have been set during first phase`);if(e.start>e.end)throw Error(`Block start ${e.start} is greater than block end ${e.end}.`);if(e.end+1<=t*n)return[e,void 0];let r=t*n-1,i=t*n;return[{start:e.start,end:r,label:e.label,bits:r-e.start},{start:i,end:e.end,label:e.label,bits:e.end-i}]},`getNextFittingBlock`),x={parser:{yy:void 0},parse:f(async e=>{let t=await h(`packet`,e),n=x.parser?.yy;if(!(n instanceof _))throw Error(`parser.parser?.yy was not a PacketDB. This is due to a bug within Mermaid, please report this issue at https://github.com/mermaid-js/mermaid/issues.`);r.debug(t),y(t,n)},`parse`)},S=f((e,t,n,r)=>{let i=r.db,s=i.getConfig(),{rowHeight:c,paddingY:l,bitWidth:u,bitsPerRow:d}=s,f=i.getPacket(),p=i.getDiagramTitle(),m=c+l,h=m*(f.length+1)-(p?0:c),g=u*d+2,_=o(t);_.attr(`viewBox`,`0 0 ${g} ${h}`),a(_,h,g,s.useMaxWidth);for(let[e,t]of f.entries())C(_,t,e,s);_.append(`text`).text(p).attr(`x`,g/2).attr(`y`,h-m/2).attr(`dominant-baseline`,`middle`).attr(`text-anchor`,`middle`).attr(`class`,`packetTitle`)},`draw`),C=f((e,t,n,{rowHeight:r,paddingX:i,paddingY:a,bitWidth:o,bitsPerRow:s,showBits:c,bitOrder:l})=>{let u=e.append(`g`),d=n*(r+a)+a,f=l===`descending`;for(let e of t){let t=e.end-e.start+1,n=e.start%s,a=(f?s-n-t:n)*o+1,l=t*o-i;if(u.append(`rect`).attr(`x`,a).attr(`y`,d).attr(`width`,l).attr(`height`,r).attr(`class`,`packetBlock`),u.append(`text`).attr(`x`,a+l/2).attr(`y`,d+r/2).attr(`class`,`packetLabel`).attr(`dominant-baseline`,`middle`).attr(`text-anchor`,`middle`).text(e.label),!c)continue;let[p,m]=f?[e.end,e.start]:[e.start,e.end],h=t===1,g=d-2;u.append(`text`).attr(`x`,a+(h?l/2:0)).attr(`y`,g).attr(`class`,`packetByte start`).attr(`dominant-baseline`,`auto`).attr(`text-anchor`,h?`middle`:`start`).text(p),h||u.append(`text`).attr(`x`,a+l).attr(`y`,g).attr(`class`,`packetByte end`).attr(`dominant-baseline`,`auto`).attr(`text-anchor`,`end`).text(m)}},`drawWord`),w={draw:S},T={byteFontSize:`10px`,startByteColor:`black`,endByteColor:`black`,labelColor:`black`,labelFontSize:`12px`,titleColor:`black`,titleFontSize:`14px`,blockStrokeColor:`black`,blockStrokeWidth:`1`,blockFillColor:`#efefef`},E={parser:x,get db(){return new _},renderer:w,styles:f(({packet:e}={})=>{let n=t(T,e);return`
	.packetByte {
		font-size: ${n.byteFontSize};
	}
	.packetByte.start {
		fill: ${n.startByteColor};
	}
	.packetByte.end {
		fill: ${n.endByteColor};
	}
	.packetLabel {
		fill: ${n.labelColor};
		font-size: ${n.labelFontSize};
	}
	.packetTitle {
		fill: ${n.titleColor};
		font-size: ${n.titleFontSize};
	}
	.packetBlock {
		stroke: ${n.blockStrokeColor};
		stroke-width: ${n.blockStrokeWidth};
		fill: ${n.blockFillColor};
	}
	`},`styles`)};export{E as diagram};