# The website's one script, served as /app.js (the pages' Content-Security-
# Policy allows scripts of this origin only, no inline ones). Without it
# every page still works: forms post and pages reload.
#  - status page (#live): GET /live every 2 s swapped in; a lost session goes
#    to the login page
#  - configuration page (#q): the search box filters the rows by key name or
#    the words of its description; a change goes
#    to /api/config and its result (Accepted / RebootRequired / Rejected with
#    the reason, a warning) shows beside the form, the page stays where it is
JS = ("(function(){var l=document.getElementById('live');if(l)setInterval(function(){"
      "fetch('/live').then(function(r){if(r.status==401||r.status==503){location='/login';return;}"
      "if(r.ok)r.text().then(function(t){l.innerHTML=t;});}).catch(function(){});},2000);"
      "var q=document.getElementById('q');if(!q)return;"
      "q.oninput=function(){"
      "var t=q.value.toLowerCase();document.querySelectorAll('section.grp').forEach(function(g){"
      "var n=0;g.querySelectorAll('tr[data-k]').forEach(function(r){var m=r.cells[0].textContent.toLowerCase()"
      ".indexOf(t)>=0;r.classList.toggle('hide',!m);if(m)n++;});g.classList.toggle('hide',n==0);});};"
      "document.querySelectorAll('form.set').forEach(function(f){f.onsubmit=function(ev){"
      "ev.preventDefault();var i=f.elements.value;var v=i.type=='checkbox'?(i.checked?'true':'false'):i.value;"
      "var o=f.querySelector('.res');o.textContent='...';fetch('/api/config',{method:'POST',"
      "headers:{'Content-Type':'application/json','X-CSRF-Token':f.elements.csrf.value},"
      "body:JSON.stringify({key:f.elements.key.value,value:v})}).then(function(r){return r.json();})"
      ".then(function(d){var ok=d.status=='Accepted'||d.status=='RebootRequired';"
      "o.textContent=(d.status||'Error')+(d.reason?': '+d.reason:'')+(d.warning?' - warning: '+d.warning:'')"
      "+(d.status=='RebootRequired'?' (active after the next reboot)':'');"
      "o.className='res msg '+(ok&&!d.warning?'ok':'err');"
      "if(ok){var c=document.getElementById('v-'+d.key);if(c&&!c.dataset.s)c.textContent=v;}})"
      ".catch(function(){o.textContent='no answer';o.className='res msg err';});};});})();")
