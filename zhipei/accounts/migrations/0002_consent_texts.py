"""The first versions of the two consent texts. New versions are added, never edited."""

import datetime

from django.db import migrations

PERSONAL_INFO = """本平台（职培职业技能线上培训平台）由您所报名的培训机构使用，用于开展经人力资源和社会保障部门备案的职业技能线上培训。为确认参训人员身份、记录培训过程、申报培训补贴，我们需要处理您的以下个人信息：

一、处理的信息：姓名、居民身份证号码、手机号码；学习记录（学习时间、学习时长、课程进度、随堂答题、考试成绩）；登录日志（时间、IP 地址）。

二、处理目的：实名注册与登录验证；统计有效学时并按 1:1 折算为线下培训学时；培训考核与结业证明；向人力资源和社会保障部门报送培训数据、接受监管。

三、提供对象：您所报名的培训机构；依法履行监管职责的人力资源和社会保障部门。除法律法规另有规定外，不向其他任何第三方提供。

四、保存期限：培训数据按主管部门要求保存 5 年，期满后删除或匿名化处理。

五、安全措施：身份证号码、手机号码在数据库中加密存储（SM4 国密算法），页面与导出文件中默认脱敏显示；所有查看与导出个人信息的操作均记录审计日志。

六、您的权利：您可以查询、复制、更正您的个人信息，可以撤回本同意。撤回后将无法继续参加线上培训，但不影响撤回前基于同意已进行的处理；依法须保存的培训档案在保存期内继续保存。

如有疑问，请联系您所报名的培训机构。"""

BIOMETRIC = """人脸信息属于敏感个人信息。根据《中华人民共和国个人信息保护法》第二十九条，处理敏感个人信息应当取得您的单独同意。

一、处理的信息：您在注册、学习和考试时通过摄像头采集的人脸图像，以及由此计算的人脸特征值。

二、处理目的：确认参加培训和考试的是您本人（人脸核验及活体检测），这是培训学时被人力资源和社会保障部门认可的必要条件。

三、处理方式：人脸特征值加密存储，并与身份信息分开保存；每次核验的抓拍图像加密存储，图像上标注机构、学员和时间，作为培训过程记录。

四、保存期限：人脸特征值在您撤回同意或注销账号后删除；核验抓拍图像作为培训档案按主管部门要求保存 5 年。

五、替代方式：如您无法或不愿使用人脸识别，可选择"短信验证码 + 机构工作人员现场核验"的方式确认身份；该方式产生的学时是否计入补贴由主管部门认定。

六、撤回：您可以随时撤回本同意，撤回后人脸特征值将被删除。"""


def seed(apps, schema_editor):
    ConsentDocument = apps.get_model("accounts", "ConsentDocument")
    effective = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    ConsentDocument.objects.get_or_create(
        kind="personal_info", version="1.0",
        defaults={"title": "个人信息处理同意书", "body": PERSONAL_INFO, "effective_at": effective},
    )
    ConsentDocument.objects.get_or_create(
        kind="biometric", version="1.0",
        defaults={"title": "人脸信息处理单独同意书", "body": BIOMETRIC, "effective_at": effective},
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
