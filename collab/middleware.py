from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class PortalLocaleMiddleware(LocaleMiddleware):
    """Speak zh-Hant unless the person chose another language with the switcher.

    Django's LocaleMiddleware also follows the browser's Accept-Language, which would
    show English to everyone whose browser was installed in English. The portal's
    language is the company's, so only the switcher's cookie changes it.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
