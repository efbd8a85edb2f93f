"""The models' structuring functions, written by ``python -m openai_batches._codegen``.

Do not edit: change the models or the writer, then run it again (a test checks that this
file is what it writes). The functions come in groups, one per module of models, made
when the converter first needs one of them (see ``group_of``), so that structuring a
batch does not load the models of the files.
"""

# mypy: ignore-errors

from typing import Any


def group_batch_models():
    from ._batch_models import Batch, BatchError, BatchErrors, BatchRequestCounts, BatchStatus, BatchUsage, InputTokensDetails, OutputTokensDetails
    from ._models import Page

    def structure_Batch(o, _=None, __None=None, __type=type, __str=str, __int=int, __list=list, __dict=dict, __new=object.__new__, _BatchStatus=BatchStatus, _BatchStatus__value2member_map_=BatchStatus._value2member_map_, _list=list, _BatchError=BatchError, _BatchErrors=BatchErrors, _BatchRequestCounts=BatchRequestCounts, _InputTokensDetails=InputTokensDetails, _OutputTokensDetails=OutputTokensDetails, _BatchUsage=BatchUsage, _Batch=Batch):
        v0_0 = o['id']
        v0_1 = o['object']
        v0_2 = o['endpoint']
        v0_3 = o['input_file_id']
        v0_4 = o['completion_window']
        v0_5 = o['status']
        v0_6 = o['created_at']
        v0_22 = o
        try:
            v0_7 = o['model']
            v0_8 = o['errors']
            v0_9 = o['output_file_id']
            v0_10 = o['error_file_id']
            v0_11 = o['in_progress_at']
            v0_12 = o['expires_at']
            v0_13 = o['finalizing_at']
            v0_14 = o['completed_at']
            v0_15 = o['failed_at']
            v0_16 = o['expired_at']
            v0_17 = o['cancelling_at']
            v0_18 = o['cancelled_at']
            v0_19 = o['request_counts']
            v0_20 = o['usage']
            v0_21 = o['metadata']
        except KeyError:
            v0_7 = o.get('model')
            v0_8 = o.get('errors')
            v0_9 = o.get('output_file_id')
            v0_10 = o.get('error_file_id')
            v0_11 = o.get('in_progress_at')
            v0_12 = o.get('expires_at')
            v0_13 = o.get('finalizing_at')
            v0_14 = o.get('completed_at')
            v0_15 = o.get('failed_at')
            v0_16 = o.get('expired_at')
            v0_17 = o.get('cancelling_at')
            v0_18 = o.get('cancelled_at')
            v0_19 = o.get('request_counts')
            v0_20 = o.get('usage')
            v0_21 = o.get('metadata')
        try:
            v0_5 = _BatchStatus__value2member_map_[v0_5]
        except (KeyError, TypeError):
            if __type(v0_5) is not __str:
                raise TypeError('expected a string (BatchStatus)') from None
            v0_5 = _BatchStatus(v0_5)
        if v0_8 is not __None:
            try:
                v1_0 = v0_8['object']
                v1_1 = v0_8['data']
            except KeyError:
                v1_0 = v0_8.get('object')
                v1_1 = v0_8.get('data')
            if v1_1 is __None:
                v1_1 = _list()
            if __type(v1_1) is not __list:
                raise TypeError('expected an array')
            v1_1 = [structure_BatchError(x, _BatchError) for x in v1_1]
            if (v1_0 is not __None and __type(v1_0) is not __str):
                raise TypeError('a field of BatchErrors has the wrong type')
            v0_8 = __new(_BatchErrors)
            v0_8.object = v1_0
            v0_8.data = v1_1
        if v0_19 is not __None:
            v2_0 = v0_19['total']
            v2_1 = v0_19['completed']
            v2_2 = v0_19['failed']
            if (__type(v2_0) is not __int) or (__type(v2_1) is not __int) or (__type(v2_2) is not __int):
                raise TypeError('a field of BatchRequestCounts has the wrong type')
            v0_19 = __new(_BatchRequestCounts)
            v0_19.total = v2_0
            v0_19.completed = v2_1
            v0_19.failed = v2_2
        if v0_20 is not __None:
            v3_0 = v0_20['input_tokens']
            v3_1 = v0_20['input_tokens_details']
            v3_2 = v0_20['output_tokens']
            v3_3 = v0_20['output_tokens_details']
            v3_4 = v0_20['total_tokens']
            v4_0 = v3_1['cached_tokens']
            if (__type(v4_0) is not __int):
                raise TypeError('a field of InputTokensDetails has the wrong type')
            v3_1 = __new(_InputTokensDetails)
            v3_1.cached_tokens = v4_0
            v5_0 = v3_3['reasoning_tokens']
            if (__type(v5_0) is not __int):
                raise TypeError('a field of OutputTokensDetails has the wrong type')
            v3_3 = __new(_OutputTokensDetails)
            v3_3.reasoning_tokens = v5_0
            if (__type(v3_0) is not __int) or (__type(v3_2) is not __int) or (__type(v3_4) is not __int):
                raise TypeError('a field of BatchUsage has the wrong type')
            v0_20 = __new(_BatchUsage)
            v0_20.input_tokens = v3_0
            v0_20.input_tokens_details = v3_1
            v0_20.output_tokens = v3_2
            v0_20.output_tokens_details = v3_3
            v0_20.total_tokens = v3_4
        if v0_21 is not __None:
            if __type(v0_21) is not __dict:
                raise TypeError('expected an object of strings')
            for k, v in v0_21.items():
                if __type(k) is not __str or __type(v) is not __str:
                    raise TypeError('expected an object of strings')
            v0_21 = __dict(v0_21)
        if (__type(v0_0) is not __str) or (__type(v0_1) is not __str) or (__type(v0_2) is not __str) or (__type(v0_3) is not __str) or (__type(v0_4) is not __str) or (__type(v0_6) is not __int) or (v0_7 is not __None and __type(v0_7) is not __str) or (v0_9 is not __None and __type(v0_9) is not __str) or (v0_10 is not __None and __type(v0_10) is not __str) or (v0_11 is not __None and __type(v0_11) is not __int) or (v0_12 is not __None and __type(v0_12) is not __int) or (v0_13 is not __None and __type(v0_13) is not __int) or (v0_14 is not __None and __type(v0_14) is not __int) or (v0_15 is not __None and __type(v0_15) is not __int) or (v0_16 is not __None and __type(v0_16) is not __int) or (v0_17 is not __None and __type(v0_17) is not __int) or (v0_18 is not __None and __type(v0_18) is not __int):
            raise TypeError('a field of Batch has the wrong type')
        result = __new(_Batch)
        result.id = v0_0
        result.object = v0_1
        result.endpoint = v0_2
        result.input_file_id = v0_3
        result.completion_window = v0_4
        result.status = v0_5
        result.created_at = v0_6
        result.model = v0_7
        result.errors = v0_8
        result.output_file_id = v0_9
        result.error_file_id = v0_10
        result.in_progress_at = v0_11
        result.expires_at = v0_12
        result.finalizing_at = v0_13
        result.completed_at = v0_14
        result.failed_at = v0_15
        result.expired_at = v0_16
        result.cancelling_at = v0_17
        result.cancelled_at = v0_18
        result.request_counts = v0_19
        result.usage = v0_20
        result.metadata = v0_21
        result.raw = v0_22
        return result

    def structure_BatchError(o, _=None, __None=None, __type=type, __str=str, __int=int, __new=object.__new__, _BatchError=BatchError):
        try:
            v0_0 = o['code']
            v0_1 = o['message']
            v0_2 = o['param']
            v0_3 = o['line']
        except KeyError:
            v0_0 = o.get('code')
            v0_1 = o.get('message')
            v0_2 = o.get('param')
            v0_3 = o.get('line')
        if (v0_0 is not __None and __type(v0_0) is not __str) or (v0_1 is not __None and __type(v0_1) is not __str) or (v0_2 is not __None and __type(v0_2) is not __str) or (v0_3 is not __None and __type(v0_3) is not __int):
            raise TypeError('a field of BatchError has the wrong type')
        result = __new(_BatchError)
        result.code = v0_0
        result.message = v0_1
        result.param = v0_2
        result.line = v0_3
        return result

    def structure_BatchErrors(o, _=None, __None=None, __type=type, __str=str, __list=list, __new=object.__new__, _list=list, _BatchError=BatchError, _BatchErrors=BatchErrors):
        try:
            v0_0 = o['object']
            v0_1 = o['data']
        except KeyError:
            v0_0 = o.get('object')
            v0_1 = o.get('data')
        if v0_1 is __None:
            v0_1 = _list()
        if __type(v0_1) is not __list:
            raise TypeError('expected an array')
        v0_1 = [structure_BatchError(x, _BatchError) for x in v0_1]
        if (v0_0 is not __None and __type(v0_0) is not __str):
            raise TypeError('a field of BatchErrors has the wrong type')
        result = __new(_BatchErrors)
        result.object = v0_0
        result.data = v0_1
        return result

    def structure_BatchRequestCounts(o, _=None, __type=type, __int=int, __new=object.__new__, _BatchRequestCounts=BatchRequestCounts):
        v0_0 = o['total']
        v0_1 = o['completed']
        v0_2 = o['failed']
        if (__type(v0_0) is not __int) or (__type(v0_1) is not __int) or (__type(v0_2) is not __int):
            raise TypeError('a field of BatchRequestCounts has the wrong type')
        result = __new(_BatchRequestCounts)
        result.total = v0_0
        result.completed = v0_1
        result.failed = v0_2
        return result

    def structure_BatchUsage(o, _=None, __type=type, __int=int, __new=object.__new__, _InputTokensDetails=InputTokensDetails, _OutputTokensDetails=OutputTokensDetails, _BatchUsage=BatchUsage):
        v0_0 = o['input_tokens']
        v0_1 = o['input_tokens_details']
        v0_2 = o['output_tokens']
        v0_3 = o['output_tokens_details']
        v0_4 = o['total_tokens']
        v1_0 = v0_1['cached_tokens']
        if (__type(v1_0) is not __int):
            raise TypeError('a field of InputTokensDetails has the wrong type')
        v0_1 = __new(_InputTokensDetails)
        v0_1.cached_tokens = v1_0
        v2_0 = v0_3['reasoning_tokens']
        if (__type(v2_0) is not __int):
            raise TypeError('a field of OutputTokensDetails has the wrong type')
        v0_3 = __new(_OutputTokensDetails)
        v0_3.reasoning_tokens = v2_0
        if (__type(v0_0) is not __int) or (__type(v0_2) is not __int) or (__type(v0_4) is not __int):
            raise TypeError('a field of BatchUsage has the wrong type')
        result = __new(_BatchUsage)
        result.input_tokens = v0_0
        result.input_tokens_details = v0_1
        result.output_tokens = v0_2
        result.output_tokens_details = v0_3
        result.total_tokens = v0_4
        return result

    def structure_InputTokensDetails(o, _=None, __type=type, __int=int, __new=object.__new__, _InputTokensDetails=InputTokensDetails):
        v0_0 = o['cached_tokens']
        if (__type(v0_0) is not __int):
            raise TypeError('a field of InputTokensDetails has the wrong type')
        result = __new(_InputTokensDetails)
        result.cached_tokens = v0_0
        return result

    def structure_OutputTokensDetails(o, _=None, __type=type, __int=int, __new=object.__new__, _OutputTokensDetails=OutputTokensDetails):
        v0_0 = o['reasoning_tokens']
        if (__type(v0_0) is not __int):
            raise TypeError('a field of OutputTokensDetails has the wrong type')
        result = __new(_OutputTokensDetails)
        result.reasoning_tokens = v0_0
        return result

    def structure_Page_Batch(o, _=None, __None=None, __type=type, __str=str, __bool=bool, __list=list, __new=object.__new__, _Batch=Batch, _Page=Page):
        v0_0 = o['data']
        v0_1 = o['has_more']
        try:
            v0_2 = o['object']
            v0_3 = o['first_id']
            v0_4 = o['last_id']
        except KeyError:
            v0_2 = o.get('object', 'list')
            v0_3 = o.get('first_id')
            v0_4 = o.get('last_id')
        if __type(v0_0) is not __list:
            raise TypeError('expected an array')
        v0_0 = [structure_Batch(x, _Batch) for x in v0_0]
        if (__type(v0_1) is not __bool) or (__type(v0_2) is not __str) or (v0_3 is not __None and __type(v0_3) is not __str) or (v0_4 is not __None and __type(v0_4) is not __str):
            raise TypeError('a field of Page has the wrong type')
        result = __new(_Page)
        result.data = v0_0
        result.has_more = v0_1
        result.object = v0_2
        result.first_id = v0_3
        result.last_id = v0_4
        return result

    return {
            Batch: structure_Batch,
            BatchError: structure_BatchError,
            BatchErrors: structure_BatchErrors,
            BatchRequestCounts: structure_BatchRequestCounts,
            BatchUsage: structure_BatchUsage,
            InputTokensDetails: structure_InputTokensDetails,
            OutputTokensDetails: structure_OutputTokensDetails,
            Page[Batch]: structure_Page_Batch,
    }


def group_webhook_models():
    from ._webhook_models import BatchEvent, BatchEventData, WebhookEvent, WebhookEventType

    def structure_BatchEvent(o, _=None, __None=None, __type=type, __str=str, __int=int, __new=object.__new__, _WebhookEventType=WebhookEventType, _WebhookEventType__value2member_map_=WebhookEventType._value2member_map_, _BatchEventData=BatchEventData, _BatchEvent=BatchEvent):
        v0_0 = o['id']
        v0_1 = o['type']
        v0_2 = o['created_at']
        v0_3 = o['data']
        v0_5 = o
        try:
            v0_4 = o['object']
        except KeyError:
            v0_4 = o.get('object')
        try:
            v0_1 = _WebhookEventType__value2member_map_[v0_1]
        except (KeyError, TypeError):
            if __type(v0_1) is not __str:
                raise TypeError('expected a string (WebhookEventType)') from None
            v0_1 = _WebhookEventType(v0_1)
        v1_0 = v0_3['id']
        if (__type(v1_0) is not __str):
            raise TypeError('a field of BatchEventData has the wrong type')
        v0_3 = __new(_BatchEventData)
        v0_3.id = v1_0
        if (__type(v0_0) is not __str) or (__type(v0_2) is not __int) or (v0_4 is not __None and __type(v0_4) is not __str):
            raise TypeError('a field of BatchEvent has the wrong type')
        result = __new(_BatchEvent)
        result.id = v0_0
        result.type = v0_1
        result.created_at = v0_2
        result.data = v0_3
        result.object = v0_4
        result.raw = v0_5
        return result

    def structure_BatchEventData(o, _=None, __type=type, __str=str, __new=object.__new__, _BatchEventData=BatchEventData):
        v0_0 = o['id']
        if (__type(v0_0) is not __str):
            raise TypeError('a field of BatchEventData has the wrong type')
        result = __new(_BatchEventData)
        result.id = v0_0
        return result

    def structure_WebhookEvent(o, _=None, __None=None, __type=type, __str=str, __int=int, __new=object.__new__, _WebhookEventType=WebhookEventType, _WebhookEventType__value2member_map_=WebhookEventType._value2member_map_, _WebhookEvent=WebhookEvent):
        v0_0 = o['id']
        v0_1 = o['type']
        v0_5 = o
        try:
            v0_2 = o['created_at']
            v0_3 = o['data']
            v0_4 = o['object']
        except KeyError:
            v0_2 = o.get('created_at')
            v0_3 = o.get('data')
            v0_4 = o.get('object')
        try:
            v0_1 = _WebhookEventType__value2member_map_[v0_1]
        except (KeyError, TypeError):
            if __type(v0_1) is not __str:
                raise TypeError('expected a string (WebhookEventType)') from None
            v0_1 = _WebhookEventType(v0_1)
        if (__type(v0_0) is not __str) or (v0_2 is not __None and __type(v0_2) is not __int) or (v0_4 is not __None and __type(v0_4) is not __str):
            raise TypeError('a field of WebhookEvent has the wrong type')
        result = __new(_WebhookEvent)
        result.id = v0_0
        result.type = v0_1
        result.created_at = v0_2
        result.data = v0_3
        result.object = v0_4
        result.raw = v0_5
        return result

    return {
            BatchEvent: structure_BatchEvent,
            BatchEventData: structure_BatchEventData,
            WebhookEvent: structure_WebhookEvent,
    }


def group_file_models():
    from ._file_models import FileDeleted, FileObject, FilePurpose, FileStatus
    from ._models import Page

    def structure_FileDeleted(o, _=None, __type=type, __str=str, __bool=bool, __new=object.__new__, _FileDeleted=FileDeleted):
        v0_0 = o['id']
        v0_1 = o['object']
        v0_2 = o['deleted']
        if (__type(v0_0) is not __str) or (__type(v0_1) is not __str) or (__type(v0_2) is not __bool):
            raise TypeError('a field of FileDeleted has the wrong type')
        result = __new(_FileDeleted)
        result.id = v0_0
        result.object = v0_1
        result.deleted = v0_2
        return result

    def structure_FileObject(o, _=None, __None=None, __type=type, __str=str, __int=int, __new=object.__new__, _FilePurpose=FilePurpose, _FilePurpose__value2member_map_=FilePurpose._value2member_map_, _FileStatus=FileStatus, _FileStatus__value2member_map_=FileStatus._value2member_map_, _FileObject=FileObject):
        v0_0 = o['id']
        v0_1 = o['object']
        v0_2 = o['bytes']
        v0_3 = o['created_at']
        v0_4 = o['filename']
        v0_5 = o['purpose']
        v0_9 = o
        try:
            v0_6 = o['expires_at']
            v0_7 = o['status']
            v0_8 = o['status_details']
        except KeyError:
            v0_6 = o.get('expires_at')
            v0_7 = o.get('status')
            v0_8 = o.get('status_details')
        try:
            v0_5 = _FilePurpose__value2member_map_[v0_5]
        except (KeyError, TypeError):
            if __type(v0_5) is not __str:
                raise TypeError('expected a string (FilePurpose)') from None
            v0_5 = _FilePurpose(v0_5)
        if v0_7 is not __None:
            try:
                v0_7 = _FileStatus__value2member_map_[v0_7]
            except (KeyError, TypeError):
                if __type(v0_7) is not __str:
                    raise TypeError('expected a string (FileStatus)') from None
                v0_7 = _FileStatus(v0_7)
        if (__type(v0_0) is not __str) or (__type(v0_1) is not __str) or (__type(v0_2) is not __int) or (__type(v0_3) is not __int) or (__type(v0_4) is not __str) or (v0_6 is not __None and __type(v0_6) is not __int) or (v0_8 is not __None and __type(v0_8) is not __str):
            raise TypeError('a field of FileObject has the wrong type')
        result = __new(_FileObject)
        result.id = v0_0
        result.object = v0_1
        result.bytes = v0_2
        result.created_at = v0_3
        result.filename = v0_4
        result.purpose = v0_5
        result.expires_at = v0_6
        result.status = v0_7
        result.status_details = v0_8
        result.raw = v0_9
        return result

    def structure_Page_FileObject(o, _=None, __None=None, __type=type, __str=str, __bool=bool, __list=list, __new=object.__new__, _FileObject=FileObject, _Page=Page):
        v0_0 = o['data']
        v0_1 = o['has_more']
        try:
            v0_2 = o['object']
            v0_3 = o['first_id']
            v0_4 = o['last_id']
        except KeyError:
            v0_2 = o.get('object', 'list')
            v0_3 = o.get('first_id')
            v0_4 = o.get('last_id')
        if __type(v0_0) is not __list:
            raise TypeError('expected an array')
        v0_0 = [structure_FileObject(x, _FileObject) for x in v0_0]
        if (__type(v0_1) is not __bool) or (__type(v0_2) is not __str) or (v0_3 is not __None and __type(v0_3) is not __str) or (v0_4 is not __None and __type(v0_4) is not __str):
            raise TypeError('a field of Page has the wrong type')
        result = __new(_Page)
        result.data = v0_0
        result.has_more = v0_1
        result.object = v0_2
        result.first_id = v0_3
        result.last_id = v0_4
        return result

    return {
            FileDeleted: structure_FileDeleted,
            FileObject: structure_FileObject,
            Page[FileObject]: structure_Page_FileObject,
    }


def group_upload_models():
    from ._file_models import FileObject, FilePurpose, FileStatus
    from ._upload_models import Upload, UploadPart, UploadStatus

    def structure_Upload(o, _=None, __None=None, __type=type, __str=str, __int=int, __new=object.__new__, _FilePurpose=FilePurpose, _FilePurpose__value2member_map_=FilePurpose._value2member_map_, _UploadStatus=UploadStatus, _UploadStatus__value2member_map_=UploadStatus._value2member_map_, _FileStatus=FileStatus, _FileStatus__value2member_map_=FileStatus._value2member_map_, _FileObject=FileObject, _Upload=Upload):
        v0_0 = o['id']
        v0_1 = o['bytes']
        v0_2 = o['created_at']
        v0_3 = o['filename']
        v0_4 = o['purpose']
        v0_5 = o['status']
        v0_6 = o['expires_at']
        v0_9 = o
        try:
            v0_7 = o['object']
            v0_8 = o['file']
        except KeyError:
            v0_7 = o.get('object')
            v0_8 = o.get('file')
        try:
            v0_4 = _FilePurpose__value2member_map_[v0_4]
        except (KeyError, TypeError):
            if __type(v0_4) is not __str:
                raise TypeError('expected a string (FilePurpose)') from None
            v0_4 = _FilePurpose(v0_4)
        try:
            v0_5 = _UploadStatus__value2member_map_[v0_5]
        except (KeyError, TypeError):
            if __type(v0_5) is not __str:
                raise TypeError('expected a string (UploadStatus)') from None
            v0_5 = _UploadStatus(v0_5)
        if v0_8 is not __None:
            v1_0 = v0_8['id']
            v1_1 = v0_8['object']
            v1_2 = v0_8['bytes']
            v1_3 = v0_8['created_at']
            v1_4 = v0_8['filename']
            v1_5 = v0_8['purpose']
            v1_9 = v0_8
            try:
                v1_6 = v0_8['expires_at']
                v1_7 = v0_8['status']
                v1_8 = v0_8['status_details']
            except KeyError:
                v1_6 = v0_8.get('expires_at')
                v1_7 = v0_8.get('status')
                v1_8 = v0_8.get('status_details')
            try:
                v1_5 = _FilePurpose__value2member_map_[v1_5]
            except (KeyError, TypeError):
                if __type(v1_5) is not __str:
                    raise TypeError('expected a string (FilePurpose)') from None
                v1_5 = _FilePurpose(v1_5)
            if v1_7 is not __None:
                try:
                    v1_7 = _FileStatus__value2member_map_[v1_7]
                except (KeyError, TypeError):
                    if __type(v1_7) is not __str:
                        raise TypeError('expected a string (FileStatus)') from None
                    v1_7 = _FileStatus(v1_7)
            if (__type(v1_0) is not __str) or (__type(v1_1) is not __str) or (__type(v1_2) is not __int) or (__type(v1_3) is not __int) or (__type(v1_4) is not __str) or (v1_6 is not __None and __type(v1_6) is not __int) or (v1_8 is not __None and __type(v1_8) is not __str):
                raise TypeError('a field of FileObject has the wrong type')
            v0_8 = __new(_FileObject)
            v0_8.id = v1_0
            v0_8.object = v1_1
            v0_8.bytes = v1_2
            v0_8.created_at = v1_3
            v0_8.filename = v1_4
            v0_8.purpose = v1_5
            v0_8.expires_at = v1_6
            v0_8.status = v1_7
            v0_8.status_details = v1_8
            v0_8.raw = v1_9
        if (__type(v0_0) is not __str) or (__type(v0_1) is not __int) or (__type(v0_2) is not __int) or (__type(v0_3) is not __str) or (__type(v0_6) is not __int) or (v0_7 is not __None and __type(v0_7) is not __str):
            raise TypeError('a field of Upload has the wrong type')
        result = __new(_Upload)
        result.id = v0_0
        result.bytes = v0_1
        result.created_at = v0_2
        result.filename = v0_3
        result.purpose = v0_4
        result.status = v0_5
        result.expires_at = v0_6
        result.object = v0_7
        result.file = v0_8
        result.raw = v0_9
        return result

    def structure_UploadPart(o, _=None, __type=type, __str=str, __int=int, __new=object.__new__, _UploadPart=UploadPart):
        v0_0 = o['id']
        v0_1 = o['object']
        v0_2 = o['created_at']
        v0_3 = o['upload_id']
        if (__type(v0_0) is not __str) or (__type(v0_1) is not __str) or (__type(v0_2) is not __int) or (__type(v0_3) is not __str):
            raise TypeError('a field of UploadPart has the wrong type')
        result = __new(_UploadPart)
        result.id = v0_0
        result.object = v0_1
        result.created_at = v0_2
        result.upload_id = v0_3
        return result

    return {
            Upload: structure_Upload,
            UploadPart: structure_UploadPart,
    }


def group_models():
    from ._models import Page

    def structure_Page_Any(o, _=None, __None=None, __type=type, __str=str, __bool=bool, __list=list, __new=object.__new__, _Page=Page):
        v0_0 = o['data']
        v0_1 = o['has_more']
        try:
            v0_2 = o['object']
            v0_3 = o['first_id']
            v0_4 = o['last_id']
        except KeyError:
            v0_2 = o.get('object', 'list')
            v0_3 = o.get('first_id')
            v0_4 = o.get('last_id')
        if __type(v0_0) is not __list:
            raise TypeError('expected an array')
        if (__type(v0_1) is not __bool) or (__type(v0_2) is not __str) or (v0_3 is not __None and __type(v0_3) is not __str) or (v0_4 is not __None and __type(v0_4) is not __str):
            raise TypeError('a field of Page has the wrong type')
        result = __new(_Page)
        result.data = v0_0
        result.has_more = v0_1
        result.object = v0_2
        result.first_id = v0_3
        result.last_id = v0_4
        return result

    return {
            Page[Any]: structure_Page_Any,
    }


GROUPS: dict[str, Any] = {
    'openai_batches._batch_models': group_batch_models,
    'openai_batches._webhook_models': group_webhook_models,
    'openai_batches._file_models': group_file_models,
    'openai_batches._upload_models': group_upload_models,
    'openai_batches._models': group_models,
}
